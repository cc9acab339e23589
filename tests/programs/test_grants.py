"""Points and rewards given for a cause (a referral, a survey answer, an opening balance): once."""

import pytest
from django.core.exceptions import ValidationError

from programs import services
from programs.models import LedgerEntry, Membership, Redemption
from programs.selectors import ledger_breaches

from ..conftest import needs_postgres
from ..factories import RewardFactory
from ..parallel import run_in_parallel

pytestmark = pytest.mark.django_db


def test_points_for_a_cause_are_credited_once(shop, customer):
    entry, created = services.grant_points(member=customer, program=shop, points=50,
                                           cause_key="referral:1:friend", reason="Welcome gift")
    again, created_again = services.grant_points(member=customer, program=shop, points=50,
                                                 cause_key="referral:1:friend", reason="Welcome gift")

    assert (created, created_again) == (True, False)
    assert again.pk == entry.pk
    membership = Membership.objects.get(member=customer, program=shop)
    assert (membership.balance, membership.lifetime_earned) == (50, 50)
    assert entry.kind == LedgerEntry.Kind.BONUS and entry.reason == "Welcome gift"
    assert list(ledger_breaches()) == []


def test_pending_points_for_a_cause_wait_for_their_review(shop, customer):
    services.grant_points(member=customer, program=shop, points=30, cause_key="referral:2:referrer",
                          pending_days=14, counts_as_earned=False)

    membership = Membership.objects.get(member=customer, program=shop)
    assert (membership.balance, membership.pending, membership.available) == (30, 30, 0)
    assert membership.lifetime_earned == 0


@pytest.mark.parametrize("points", [0, -5, 1.5, True, 1_000_001])
def test_points_that_are_not_a_sane_whole_number_are_refused(shop, customer, points):
    with pytest.raises(ValidationError):
        services.grant_points(member=customer, program=shop, points=points, cause_key="x")
    assert not LedgerEntry.objects.exists()


def test_a_reward_given_for_a_cause_costs_nothing_and_is_given_once(shop, customer):
    reward = RewardFactory(program=shop, cost=100, stock=2)

    first, created = services.grant_reward(member=customer, reward=reward, cause_key="birthday:2026")
    again, created_again = services.grant_reward(member=customer, reward=reward, cause_key="birthday:2026")

    assert (created, created_again, again.pk) == (True, False, first.pk)
    assert first.points == 0 and first.status == Redemption.Status.ISSUED
    reward.refresh_from_db()
    assert reward.stock == 1
    assert not LedgerEntry.objects.exists()


def test_an_out_of_stock_gift_is_refused(shop, customer):
    reward = RewardFactory(program=shop, cost=100, stock=0)
    with pytest.raises(ValidationError, match="out of stock"):
        services.grant_reward(member=customer, reward=reward, cause_key="referral:3:friend")
    assert not Redemption.objects.exists()


@needs_postgres()
@pytest.mark.django_db(transaction=True)
def test_parallel_grants_for_one_cause_credit_once(shop, customer):
    outcomes = run_in_parallel(10, lambda i: services.grant_points(
        member=customer, program=shop, points=10, cause_key="survey-invitation:9")[1])

    assert sorted(outcomes) == [False] * 9 + [True]
    assert Membership.objects.get(member=customer, program=shop).balance == 10
