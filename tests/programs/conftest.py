from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from programs.models import Program, Reward
from programs.services import change_earning_rule

from ..factories import MemberFactory, StoreFactory


@pytest.fixture
def shop(db, settings):
    """A SEK shop with one spend program (1 point per krona, 14 days pending, 12 months expiry)."""
    settings.SHOP_CURRENCY = "SEK"
    program = Program.objects.create(
        name="Points", slug="points", kind=Program.Kind.SPEND, pending_days=0,
        expiry=Program.Expiry.AFTER_EARNING, expiry_months=12, point_value=Decimal("0.10"),
    )
    # In force long before any purchase a test backdates.
    change_earning_rule(program=program, actor=None, points_per_unit=Decimal("1"),
                        effective_from=timezone.now() - timedelta(days=5 * 365))
    return program


@pytest.fixture
def store(db):
    return StoreFactory(code="main", name="Main Street")


@pytest.fixture
def customer(db):
    return MemberFactory()


@pytest.fixture
def coffee(shop):
    return Reward.objects.create(program=shop, name="Coffee", kind=Reward.Kind.FREE_PRODUCT, cost=100)
