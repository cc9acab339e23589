from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from programs.models import Program, Reward
from programs.services import change_earning_rule

from ..factories import StoreFactory


@pytest.fixture
def shop(db, settings):
    """A SEK shop with one spend program: a point per krona, spendable at once."""
    settings.SHOP_CURRENCY = "SEK"
    program = Program.objects.create(name="Points", slug="points", kind=Program.Kind.SPEND)
    change_earning_rule(program=program, actor=None, points_per_unit=Decimal("1"),
                        effective_from=timezone.now() - timedelta(days=365))
    return program


@pytest.fixture
def store(db):
    return StoreFactory(code="main", name="Main Street")


@pytest.fixture
def coffee(shop):
    return Reward.objects.create(program=shop, name="Coffee", kind=Reward.Kind.FREE_PRODUCT, cost=100)
