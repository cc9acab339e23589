"""Real parallel connections on PostgreSQL: the membership row lock keeps the ledger exact."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from programs import services
from programs.models import LedgerEntry, Membership, Program, Purchase, Redemption, Reward
from programs.selectors import ledger_breaches

from ..conftest import needs_postgres
from ..factories import MemberFactory, StoreFactory
from ..parallel import run_in_parallel

pytestmark = [needs_postgres(), pytest.mark.django_db(transaction=True)]


@pytest.fixture
def setup(settings):
    settings.SHOP_CURRENCY = "SEK"
    program = Program.objects.create(name="Points", slug="points")
    services.change_earning_rule(program=program, actor=None, points_per_unit=Decimal("1"),
                                 effective_from=timezone.now() - timedelta(days=3650))
    return program, StoreFactory(code="main"), MemberFactory()


def test_fifty_parallel_redemptions_against_ten_rewards_worth_of_points(setup):
    program, store, member = setup
    reward = Reward.objects.create(program=program, name="Coffee", kind="free_product", cost=100)
    services.record_purchase(store=store, member=member, external_id="R-1", amount="1000.00")

    outcomes = run_in_parallel(50, lambda i: services.redeem_reward(member=member, reward=reward))

    issued = [o for o in outcomes if isinstance(o, Redemption)]
    refused = [o for o in outcomes if isinstance(o, services.PointsError)]
    assert len(issued) == 10 and len(refused) == 40, [o for o in outcomes if not isinstance(
        o, Redemption | services.PointsError)]
    assert len({r.code for r in issued}) == 10
    membership = Membership.objects.get(member=member, program=program)
    assert membership.balance == 0
    assert min(LedgerEntry.objects.values_list("balance_after", flat=True)) == 0
    assert list(ledger_breaches()) == []


def test_twenty_parallel_copies_of_one_purchase_earn_once(setup):
    program, store, member = setup
    outcomes = run_in_parallel(20, lambda i: services.record_purchase(
        store=store, member=member, external_id="SAME", amount="250.00"))

    assert all(isinstance(o, tuple) for o in outcomes), outcomes
    assert sorted(created for _purchase, created in outcomes) == [False] * 19 + [True]
    assert Purchase.objects.count() == 1
    assert Membership.objects.get(member=member, program=program).balance == 250
    assert LedgerEntry.objects.count() == 1
    assert list(ledger_breaches()) == []


def test_one_receipt_sent_for_two_cards_at_once_is_recorded_for_one_of_them(setup):
    _program, store, member = setup
    other = MemberFactory()
    outcomes = run_in_parallel(8, lambda i: services.record_purchase(
        store=store, member=(member, other)[i % 2], external_id="CLASH", amount="100.00"))

    recorded = [o for o in outcomes if isinstance(o, tuple)]
    refused = [o for o in outcomes if isinstance(o, services.PurchaseConflict)]
    assert len(recorded) + len(refused) == 8, outcomes
    assert [created for _purchase, created in recorded].count(True) == 1
    winner = Purchase.objects.get()
    assert all(purchase.member_id == winner.member_id for purchase, _created in recorded)
    assert LedgerEntry.objects.count() == 1
    assert list(ledger_breaches()) == []


def test_limited_stock_is_never_oversold(setup):
    program, store, _member = setup
    reward = Reward.objects.create(program=program, name="Mug", kind="free_product", cost=10, stock=3)
    members = [MemberFactory() for _ in range(8)]
    for n, m in enumerate(members):
        services.record_purchase(store=store, member=m, external_id=f"R-{n}", amount="10.00")

    outcomes = run_in_parallel(8, lambda i: services.redeem_reward(member=members[i], reward=reward))

    assert sum(isinstance(o, Redemption) for o in outcomes) == 3
    assert Reward.objects.get().stock == 0
    assert list(ledger_breaches()) == []


def test_expiry_running_beside_spending_keeps_the_ledger_exact(setup):
    program, store, member = setup
    program.expiry, program.expiry_months = Program.Expiry.AFTER_EARNING, 12
    program.save()
    reward = Reward.objects.create(program=program, name="Coffee", kind="free_product", cost=50)
    old = timezone.now() - timedelta(days=400)
    services.record_purchase(store=store, member=member, external_id="old", amount="100.00", now=old)
    services.record_purchase(store=store, member=member, external_id="new", amount="100.00")

    def work(i):
        if i == 0:
            return services.expire_points()
        return services.redeem_reward(member=member, reward=reward)

    outcomes = run_in_parallel(4, work)
    _lots, expired = outcomes[0]
    redeemed = sum(isinstance(o, Redemption) for o in outcomes[1:])
    # Whatever the order, the old lot was either spent or expired, and nothing else vanished.
    assert Membership.objects.get().balance == 200 - 50 * redeemed - expired
    assert LedgerEntry.objects.filter(kind="expire").count() <= 1
    assert list(ledger_breaches()) == []
    assert Membership.objects.get().balance >= 0
