"""Qualification, the review period, refunds, payout into the ledger, caps, milestones and the
review of flagged referrals."""

from datetime import timedelta

import pytest
from django.utils import timezone

from loyalty_site.models import StaffAction
from programs.models import LedgerEntry, Membership, Redemption, Reward
from programs.selectors import ledger_breaches
from programs.services import find_or_enrol_customer, record_purchase, refund_purchase
from referrals import services
from referrals.models import Reason, Referral, ReferralProgramSettings

from ..factories import MemberFactory

pytestmark = pytest.mark.django_db


def referred_friend(code, email="friend@example.org"):
    friend, _created = find_or_enrol_customer(email=email, referral_code=code.code, source="api")
    return friend


def buy(friend, store, amount, receipt="R1", **kwargs):
    return record_purchase(store=store, member=friend, external_id=receipt, amount=amount, **kwargs)[0]


def run(now):
    return services.run_referral_schedule(now=now)


def balance(member, program):
    return Membership.objects.get(member=member, program=program).balance


def test_the_qualifying_window_includes_its_last_moment(referral_settings, code, store):
    friend = referred_friend(code)
    deadline = friend.joined_at + timedelta(days=30)

    buy(friend, store, "100.00", occurred_at=deadline, now=deadline)

    referral = Referral.objects.get()
    assert referral.status == Referral.Status.QUALIFIED
    assert referral.pay_after == deadline + timedelta(days=14)


def test_a_purchase_a_second_after_the_window_does_not_qualify(referral_settings, code, store):
    friend = referred_friend(code)
    late = friend.joined_at + timedelta(days=30, seconds=1)

    buy(friend, store, "500.00", occurred_at=late, now=late)

    assert Referral.objects.get().status == Referral.Status.JOINED
    run(late)
    referral = Referral.objects.get()
    assert (referral.status, referral.reason) == (Referral.Status.REFUSED, Reason.WINDOW_PASSED)


def test_a_purchase_below_the_minimum_waits_for_one_that_reaches_it(referral_settings, code, store):
    friend = referred_friend(code)

    buy(friend, store, "99.99", receipt="R1")
    assert Referral.objects.get().status == Referral.Status.JOINED
    second = buy(friend, store, "100.00", receipt="R2")

    assert Referral.objects.get().purchase == second


def test_rewards_are_paid_after_review_into_the_ledger_with_the_referral_as_cause(
        referral_settings, code, referrer, store, shop):
    friend = referred_friend(code)
    purchase = buy(friend, store, "150.00")
    referral = Referral.objects.get()

    run(referral.pay_after - timedelta(seconds=1))
    assert Referral.objects.get().status == Referral.Status.QUALIFIED
    assert run(referral.pay_after)["paid"] == 1

    referral.refresh_from_db()
    assert referral.status == Referral.Status.REWARDED
    mine = LedgerEntry.objects.get(membership__member=referrer)
    theirs = LedgerEntry.objects.get(membership__member=friend, purchase__isnull=True)
    assert (mine.cause_key, mine.points, mine.kind) == (f"referral:{referral.pk}:referrer", 500, "bonus")
    assert (theirs.cause_key, theirs.points) == (f"referral:{referral.pk}:friend", 200)
    assert balance(referrer, shop) == 500
    assert balance(friend, shop) == 150 + 200
    # A second run, or a refund after the review period, takes nothing back and pays nothing again.
    run(referral.pay_after + timedelta(days=1))
    refund_purchase(purchase=purchase, external_id="F1", amount="150.00",
                    now=referral.pay_after + timedelta(days=2))
    assert Referral.objects.get().status == Referral.Status.REWARDED
    assert balance(referrer, shop) == 500
    assert list(ledger_breaches()) == []


def test_a_refund_inside_the_review_period_cancels_the_rewards(referral_settings, code, referrer, store):
    friend = referred_friend(code)
    purchase = buy(friend, store, "150.00")
    referral = Referral.objects.get()

    refund_purchase(purchase=purchase, external_id="F1", amount="10.00",
                    now=referral.pay_after - timedelta(minutes=1))
    run(referral.pay_after)

    referral.refresh_from_db()
    assert (referral.status, referral.reason) == (Referral.Status.REFUSED, Reason.REFUNDED)
    assert not LedgerEntry.objects.filter(cause_key__startswith="referral:").exists()


@pytest.mark.parametrize(("incentive", "sides"), [
    (ReferralProgramSettings.Incentive.REFERRER, {"referrer"}),
    (ReferralProgramSettings.Incentive.FRIEND, {"friend"}),
])
def test_one_sided_incentives_pay_one_side(referral_settings, code, store, incentive, sides):
    referral_settings.incentive = incentive
    referral_settings.save()
    buy(referred_friend(code), store, "150.00")

    run(Referral.objects.get().pay_after)

    keys = set(LedgerEntry.objects.filter(cause_key__startswith="referral:")
               .values_list("cause_key", flat=True))
    assert {k.rsplit(":", 1)[1] for k in keys} == sides


def test_a_reward_side_issues_a_free_code(referral_settings, code, referrer, store, shop):
    cake = Reward.objects.create(program=shop, name="Cake", kind=Reward.Kind.FREE_PRODUCT, cost=300)
    referral_settings.referrer_reward = cake
    referral_settings.save()
    buy(referred_friend(code), store, "150.00")
    referral = Referral.objects.get()

    run(referral.pay_after)

    gift = Redemption.objects.get(membership__member=referrer)
    assert (gift.reward, gift.points, gift.cause_key) == (cake, 0, f"referral:{referral.pk}:referrer")
    assert balance(referrer, shop) == 0


def test_a_reward_out_of_stock_waits_for_the_next_run(referral_settings, code, referrer, store, shop):
    cake = Reward.objects.create(program=shop, name="Cake", kind=Reward.Kind.FREE_PRODUCT, cost=300,
                                 stock=0)
    referral_settings.referrer_reward = cake
    referral_settings.save()
    buy(referred_friend(code), store, "150.00")
    referral = Referral.objects.get()

    assert run(referral.pay_after)["paid"] == 0
    assert Referral.objects.get().status == Referral.Status.QUALIFIED
    Reward.objects.filter(pk=cake.pk).update(stock=1)
    assert run(referral.pay_after)["paid"] == 1


def test_each_side_reads_the_reason_for_their_points_in_their_own_language(
        referral_settings, code, referrer, store):
    """The payout runs in the worker, in the shop's language; the reasons stay on the ledger
    entries, which each member reads in their points history."""
    referrer.user.language = "sv"
    referrer.user.save()
    friend = referred_friend(code)
    friend.user.language, friend.user.name = "pl", "Bo Ek"
    friend.user.save()
    buy(friend, store, "150.00")

    run(timezone.now() + timedelta(days=15))

    reasons = dict(LedgerEntry.objects.filter(cause_key__startswith="referral:")
                   .values_list("cause_key", "reason"))
    referral = Referral.objects.get()
    assert reasons == {
        f"referral:{referral.pk}:referrer": "Värvning: Bo E. gick med",
        f"referral:{referral.pk}:friend": "Witamy: polecenie od Anna B.",
    }


def test_every_second_friend_earns_the_milestone_bonus(referral_settings, code, referrer, store, shop):
    referral_settings.milestone_every = 2
    referral_settings.milestone_points = 1000
    referral_settings.save()
    for n in range(4):
        buy(referred_friend(code, f"friend{n}@example.org"), store, "150.00", receipt=f"R{n}")

    run(timezone.now() + timedelta(days=15))

    milestones = LedgerEntry.objects.filter(cause_key__endswith=":milestone")
    assert milestones.count() == 2
    assert balance(referrer, shop) == 4 * 500 + 2 * 1000


def test_the_monthly_and_total_caps_refuse_with_their_reason(referral_settings, code, store):
    referral_settings.cap_per_month = 2
    referral_settings.cap_total = 3
    referral_settings.save()
    earlier = timezone.now() - timedelta(days=32)  # another calendar month
    for n in range(3):
        buy(referred_friend(code, f"friend{n}@example.org"), store, "150.00", receipt=f"R{n}",
            occurred_at=earlier, now=earlier)
    for n in range(3, 5):
        buy(referred_friend(code, f"friend{n}@example.org"), store, "150.00", receipt=f"R{n}")

    reasons = list(Referral.objects.order_by("pk").values_list("reason", flat=True))
    assert reasons == ["", "", Reason.CAP_MONTH, "", Reason.CAP_TOTAL]


def flagged(referral_settings, code, store, *, default):
    referral_settings.burst_limit = 0
    referral_settings.review_default = default
    referral_settings.save()
    friend = referred_friend(code)
    buy(friend, store, "150.00")
    referral = Referral.objects.get()
    assert referral.status == Referral.Status.FLAGGED and referral.qualified_at
    return referral


def test_staff_approve_a_flagged_referral_and_it_is_paid_after_review(referral_settings, code, store,
                                                                      manager):
    referral = flagged(referral_settings, code, store, default="reject")

    services.decide(referral=referral, approve=True, actor=manager)
    run(referral.pay_after)

    referral.refresh_from_db()
    assert referral.status == Referral.Status.REWARDED and referral.decided_by == manager
    assert StaffAction.objects.filter(action="referrals.referral.approved").exists()


def test_staff_reject_a_flagged_referral(referral_settings, code, store, manager):
    referral = flagged(referral_settings, code, store, default="approve")

    services.decide(referral=referral, approve=False, actor=manager)
    run(referral.pay_after + timedelta(days=30))

    referral.refresh_from_db()
    assert (referral.status, referral.reason) == (Referral.Status.REFUSED, Reason.REJECTED)
    assert not LedgerEntry.objects.filter(cause_key__startswith="referral:").exists()


@pytest.mark.parametrize(("default", "status", "reason"), [
    ("reject", Referral.Status.REFUSED, Reason.REVIEW_DEADLINE),
    ("approve", Referral.Status.REWARDED, Reason.REFERRER_BURST),
])
def test_the_default_outcome_applies_when_nobody_reviews_in_time(referral_settings, code, store,
                                                                 default, status, reason):
    referral = flagged(referral_settings, code, store, default=default)

    run(referral.review_until - timedelta(seconds=1))
    assert Referral.objects.get().status == Referral.Status.FLAGGED
    run(max(referral.review_until, referral.pay_after) + timedelta(seconds=1))

    referral.refresh_from_db()
    assert (referral.status, referral.reason) == (status, reason)


def test_the_schedule_task_is_wired_to_beat(settings):
    assert settings.CELERY_BEAT_SCHEDULE["referrals-schedule"]["task"] == (
        "referrals.tasks.run_referral_schedule")


def test_the_task_runs_the_schedule(referral_settings, code, store):
    from referrals.tasks import run_referral_schedule

    buy(referred_friend(code), store, "150.00")
    Referral.objects.update(pay_after=timezone.now() - timedelta(seconds=1))

    assert run_referral_schedule.delay().get() == {"decided": 0, "closed": 0, "paid": 1}


def test_referral_code_is_made_once(referrer):
    first = services.referral_code_for(referrer)
    assert services.referral_code_for(referrer) == first
    assert len(first.code) == services.CODE_LENGTH and len(services.CODE_ALPHABET) ** 8 >= 2 ** 40


def test_another_members_refund_leaves_referrals_alone(referral_settings, code, store):
    buy(referred_friend(code), store, "150.00")
    other = MemberFactory()
    purchase = buy(other, store, "150.00", receipt="X1")

    refund_purchase(purchase=purchase, external_id="F1", amount="150.00")

    assert Referral.objects.get().status == Referral.Status.QUALIFIED
