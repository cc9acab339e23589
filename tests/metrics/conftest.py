"""A small shop whose metrics are computed by hand in the tests (numbers written there).

SEK, one spend program "points" (1 point per krona, point value 0.10, 12 months' expiry),
stores Main Street (main) and Web (web). Purchases, local time, all at noon:

| member | joined, at | purchases |
| --- | --- | --- |
| Ann | 2026-01-05, main | Aug 10 main 100 (coffee); Sep 3 main 200 (coffee 150, cake 50); |
|     |                  | Sep 20 web 50 (cake) |
| Ben | 2026-02-01, main | Aug 15 main 80 (coffee); Sep 5 main 120 (coffee), 20 refunded Sep 6 |
| Cid | 2026-03-01, web  | Aug 20 web 60 (tea); Oct 5 web 60 |
| Dee | 2026-09-01, web  | Sep 10 web 40 (no lines) |
| Eve | 2025-07-01, none | 2025-08-01 main 30, expired 2026-08-02 |

Ann redeems a 100-point coffee on Sep 21. Only Ann and Dee are members of the "club" program.
"""

import dataclasses
from datetime import datetime, time
from decimal import Decimal

import pytest
from django.utils import timezone

from loyalty_site import dashboard
from programs import services
from programs.models import Membership, Program, Reward
from programs.purchases import refund_purchase

from ..factories import MemberFactory, StoreFactory
from ..programs.conftest import shop  # noqa: F401 - the SEK shop with its "points" program


def at(year, month, day, hour=12):
    return timezone.make_aware(datetime.combine(datetime(year, month, day).date(), time(hour)))


def buy(member, store, when, amount, *lines, receipt):
    purchase, _ = services.record_purchase(
        store=store, member=member, external_id=receipt, amount=Decimal(amount), now=when,
        items=[{"sku": f"{category}-1", "category": category, "quantity": 1, "unit_price": price}
               for category, price in lines] or None,
    )
    return purchase


@pytest.fixture
def main_store(db):
    return StoreFactory(code="main", name="Main Street")


@pytest.fixture
def web_store(db):
    return StoreFactory(code="web", name="Web")


@pytest.fixture
def club(db):
    return Program.objects.create(name="Club", slug="club", is_active=False)


@pytest.fixture
def small_shop(request, main_store, web_store, club):
    points = request.getfixturevalue("shop")
    people = {}
    for name, joined, store in [("ann", at(2026, 1, 5), main_store), ("ben", at(2026, 2, 1), main_store),
                                ("cid", at(2026, 3, 1), web_store), ("dee", at(2026, 9, 1, 9), web_store),
                                ("eve", at(2025, 7, 1), None)]:
        people[name] = MemberFactory(user__email=f"{name}@example.com", user__name=name.title(),
                                     joined_at=joined, joined_store=store)
    ann, ben, cid, dee, eve = (people[n] for n in ("ann", "ben", "cid", "dee", "eve"))
    buy(eve, main_store, at(2025, 8, 1), "30", receipt="E1")
    services.expire_points(now=at(2026, 8, 2))
    buy(ann, main_store, at(2026, 8, 10), "100", ("coffee", "100"), receipt="A1")
    buy(ben, main_store, at(2026, 8, 15), "80", ("coffee", "80"), receipt="B1")
    buy(cid, web_store, at(2026, 8, 20), "60", ("tea", "60"), receipt="C1")
    buy(ann, main_store, at(2026, 9, 3), "200", ("coffee", "150"), ("cake", "50"), receipt="A2")
    ben_september = buy(ben, main_store, at(2026, 9, 5), "120", ("coffee", "120"), receipt="B2")
    refund_purchase(purchase=ben_september, external_id="R1", amount=Decimal("20"), now=at(2026, 9, 6))
    buy(dee, web_store, at(2026, 9, 10), "40", receipt="D1")
    buy(ann, web_store, at(2026, 9, 20), "50", ("cake", "50"), receipt="A3")
    coffee = Reward.objects.create(program=points, name="Coffee", kind=Reward.Kind.FREE_PRODUCT, cost=100)
    services.redeem_reward(member=ann, reward=coffee, now=at(2026, 9, 21))
    buy(cid, web_store, at(2026, 10, 5), "60", receipt="C2")
    for member in (ann, dee):
        Membership.objects.create(member=member, program=club, joined_at=at(2026, 1, 1))
    return people


@pytest.fixture
def no_minimum_samples():
    """The small shop has three customers: let every metric show its headline anyway."""
    saved = dict(dashboard._METRICS)
    for metric in saved.values():
        dashboard.register(dataclasses.replace(metric, minimum_sample=0))
    yield
    dashboard._METRICS.clear()
    dashboard._METRICS.update(saved)
