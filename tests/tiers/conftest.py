from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from programs.models import Program, Tier
from programs.services import change_earning_rule, record_purchase

from ..factories import MemberFactory, StoreFactory


@pytest.fixture
def shop(db, settings):
    """A SEK shop, one point per krona, nothing pending, Bronze 0 / Silver 500 / Gold 1000
    points in the last 12 months."""
    settings.SHOP_CURRENCY = "SEK"
    settings.TIME_ZONE = "Europe/Stockholm"
    program = Program.objects.create(name="Points", slug="points", kind=Program.Kind.SPEND)
    change_earning_rule(program=program, actor=None, points_per_unit=Decimal("1"),
                        effective_from=timezone.now() - timedelta(days=5 * 365))
    return program


@pytest.fixture
def tiers(shop):
    return [
        Tier.objects.create(program=shop, name="Bronze", rank=0, threshold=0, perks="Coffee refills"),
        Tier.objects.create(program=shop, name="Silver", rank=1, threshold=500,
                            multiplier=Decimal("1.25"), perks="Free delivery"),
        Tier.objects.create(program=shop, name="Gold", rank=2, threshold=1000,
                            multiplier=Decimal("1.5"), perks="Early access to sales",
                            names={"sv": "Guld"}),
    ]


@pytest.fixture
def store(db):
    return StoreFactory(code="main", name="Main Street")


@pytest.fixture
def customer(db):
    return MemberFactory(user__name="Cleo Customer")


@pytest.fixture
def buy(store):
    counter = iter(range(1, 10_000))

    def buy(member, amount, *, now=None, occurred_at=None):
        purchase, _created = record_purchase(
            store=store, member=member, external_id=f"R-{next(counter)}", amount=str(amount),
            now=now, occurred_at=occurred_at)
        return purchase

    return buy
