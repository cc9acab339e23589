"""The subscription state machine, till payments, comps, cancellation, plan changes, benefits
and the hourly schedule, through programs.subscriptions as staff and members meet them."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from loyalty_site.models import OutboxEmail
from programs import services, subscriptions
from programs.models import LedgerEntry, Membership, Subscription, SubscriptionEvent, SubscriptionPayment
from programs.subscriptions import SubscriptionError
from programs.tasks import run_subscription_schedule

Status = Subscription.Status


def pay(member, plan, amount="99.00", currency="SEK", now=None, **kwargs):
    return subscriptions.record_subscription_payment(
        member=member, plan=plan, amount=amount, currency=currency, method="cash", now=now, **kwargs)


def balance(member, program):
    return Membership.objects.get(member=member, program=program).balance


def bonus_entries(member):
    return LedgerEntry.objects.filter(membership__member=member, cause_key__startswith="plan-period:")


def history(subscription):
    return list(SubscriptionEvent.objects.filter(subscription=subscription)
                .values_list("from_status", "to_status"))


def test_joining_at_the_till_starts_a_paid_month_and_credits_the_bonus_once(shop, customer, vip, cashier):
    now = timezone.now()
    payment = pay(customer, vip, now=now, actor=cashier)
    subscription = payment.subscription
    assert subscription.status == Status.ACTIVE
    assert payment.period_start == now and subscription.period_end == payment.period_end
    assert payment.period_end.month != now.month or payment.period_end.year != now.year
    assert balance(customer, shop) == 50
    assert history(subscription) == [("", Status.ACTIVE)]
    assert SubscriptionEvent.objects.get(subscription=subscription).actor == cashier


@pytest.mark.parametrize(("amount", "currency", "message"), [
    ("98.00", "SEK", "not the right amount"),
    ("99.00", "EUR", "not EUR"),
    ("99.001", "SEK", "decimal places"),
])
def test_a_wrong_amount_or_currency_is_refused_and_changes_nothing(shop, customer, vip, amount,
                                                                   currency, message):
    with pytest.raises(SubscriptionError) as error:
        pay(customer, vip, amount=amount, currency=currency)
    assert message in " ".join(error.value.messages)
    assert not Subscription.objects.exists() and not SubscriptionPayment.objects.exists()
    assert not bonus_entries(customer).exists()


def test_a_renewal_is_taken_only_in_the_last_week_and_pays_the_next_period(shop, customer, vip):
    now = timezone.now()
    first = pay(customer, vip, now=now)
    with pytest.raises(SubscriptionError, match="Already paid until"):
        pay(customer, vip, now=now + timedelta(days=1))
    later = first.period_end - timedelta(days=3)
    second = pay(customer, vip, now=later)
    assert second.period_start == first.period_end
    subscription = Subscription.objects.get()
    assert subscription.period_end == second.period_end
    # Paid ahead: the bonus waits until the period begins, then the hourly task credits it once.
    assert bonus_entries(customer).count() == 1
    subscriptions.credit_due_bonuses(now=first.period_end + timedelta(minutes=1))
    subscriptions.credit_due_bonuses(now=first.period_end + timedelta(minutes=2))
    assert bonus_entries(customer).count() == 2
    assert balance(customer, shop) == 100


def test_an_unpaid_period_goes_past_due_then_lapses_after_the_grace_period(shop, customer, vip):
    now = timezone.now()
    subscription = pay(customer, vip, now=now).subscription
    due = subscription.period_end
    assert subscriptions.advance_subscriptions(now=due + timedelta(hours=1)) == {"past_due": 1, "lapsed": 0}
    subscription.refresh_from_db()
    assert subscription.status == Status.PAST_DUE
    assert subscription.grace_until == due + timedelta(days=7)
    # Still within grace: the plan's multiplier still applies.
    membership = subscription.membership
    assert subscriptions.plan_multiplier(membership, due + timedelta(days=1)) == Decimal("2")
    subscriptions.advance_subscriptions(now=due + timedelta(days=8))
    subscription.refresh_from_db()
    assert subscription.status == Status.LAPSED and subscription.ended_at is not None
    assert subscriptions.plan_multiplier(membership, due + timedelta(days=9)) == 1
    assert history(subscription) == [("", "active"), ("active", "past_due"), ("past_due", "lapsed")]
    causes = list(SubscriptionEvent.objects.filter(subscription=subscription).values_list("cause", flat=True))
    assert causes[1:] == ["The period ended unpaid", "Not paid within the grace period"]


def test_paying_when_past_due_pays_from_the_due_date(shop, customer, vip):
    now = timezone.now()
    subscription = pay(customer, vip, now=now).subscription
    due = subscription.period_end
    subscriptions.advance_subscriptions(now=due + timedelta(days=2))
    payment = pay(customer, vip, now=due + timedelta(days=3))
    assert payment.period_start == due
    subscription.refresh_from_db()
    assert subscription.status == Status.ACTIVE and subscription.grace_until is None


def test_the_schedule_run_twice_changes_nothing_the_second_time(shop, customer, vip):
    now = timezone.now()
    paid = pay(customer, vip, now=now - timedelta(days=40)).subscription
    results = [run_subscription_schedule.apply().get() for _ in range(2)]
    # Paid 40 days ago: the month ended and so did the 7 days' grace, both in the first run.
    assert results[0] == {"bonuses": 0, "past_due": 1, "lapsed": 1, "reminders": 0}
    assert results[1] == {"bonuses": 0, "past_due": 0, "lapsed": 0, "reminders": 0}
    paid.refresh_from_db()
    assert paid.status == Status.LAPSED
    assert SubscriptionEvent.objects.filter(subscription=paid).count() == 3
    assert bonus_entries(customer).count() == 1


def test_a_free_trial_becomes_past_due_unpaid_and_paying_ends_it(shop, customer, trial_plan):
    now = timezone.now()
    subscription = subscriptions.start_trial(member=customer, plan=trial_plan, now=now)
    assert subscription.status == Status.TRIALING
    assert subscription.period_end == now + timedelta(days=14)
    assert not bonus_entries(customer).exists()
    payment = pay(customer, trial_plan, amount="49.00", now=now + timedelta(days=5))
    assert payment.period_start == now + timedelta(days=5)
    assert balance(customer, shop) == 20
    assert history(subscription) == [("", "trialing"), ("trialing", "active")]


def test_a_trial_is_for_new_subscribers_only(shop, customer, trial_plan):
    subscription = subscriptions.start_trial(member=customer, plan=trial_plan)
    subscriptions.cancel_subscription(subscription=subscription)
    subscriptions.advance_subscriptions(now=subscription.period_end + timedelta(seconds=1))
    with pytest.raises(SubscriptionError, match="new subscribers"):
        subscriptions.start_trial(member=customer, plan=trial_plan)


def test_cancelling_twice_is_a_clear_no_op_and_benefits_last_until_the_period_ends(shop, customer, vip):
    now = timezone.now()
    subscription = pay(customer, vip, now=now).subscription
    subscription, message = subscriptions.cancel_subscription(subscription=subscription, now=now)
    assert subscription.status == Status.CANCELLED and "go on until" in message
    again, message = subscriptions.cancel_subscription(subscription=subscription, now=now)
    assert again.status == Status.CANCELLED and message.startswith("Already cancelled")
    assert SubscriptionEvent.objects.filter(subscription=subscription).count() == 2
    assert subscriptions.plan_multiplier(subscription.membership, now) == Decimal("2")
    subscriptions.advance_subscriptions(now=subscription.period_end)
    subscription.refresh_from_db()
    assert subscription.status == Status.LAPSED
    _same, message = subscriptions.cancel_subscription(subscription=subscription)
    assert message == "This subscription has already ended."


def test_the_state_machine_refuses_a_move_it_does_not_allow(shop, customer, vip):
    subscription = pay(customer, vip).subscription
    subscriptions.cancel_subscription(subscription=subscription)
    subscriptions.advance_subscriptions(now=subscription.period_end)
    subscription.refresh_from_db()
    with pytest.raises(SubscriptionError, match="cannot go from lapsed"):
        subscriptions._move(subscription, Status.ACTIVE, "test", now=timezone.now())
    with pytest.raises(SubscriptionError, match="has ended"):
        subscriptions.comp_period(subscription=subscription, reason="sorry", actor=None)


def test_a_manager_comps_a_period_with_a_reason(shop, customer, vip, manager):
    now = timezone.now()
    subscription = pay(customer, vip, now=now).subscription
    subscriptions.advance_subscriptions(now=subscription.period_end)
    with pytest.raises(SubscriptionError, match="Say why"):
        subscriptions.comp_period(subscription=subscription, reason=" ", actor=manager)
    payment = subscriptions.comp_period(subscription=subscription, reason="Coffee machine broken",
                                        actor=manager, now=subscription.period_end + timedelta(hours=2))
    assert payment.method == "comp" and payment.amount == 0 and payment.reason == "Coffee machine broken"
    subscription.refresh_from_db()
    assert subscription.status == Status.ACTIVE
    assert bonus_entries(customer).count() == 2
    assert SubscriptionEvent.objects.filter(subscription=subscription).last().cause == (
        "Period given free: Coffee machine broken")


def test_a_plan_change_takes_effect_at_the_next_renewal(shop, customer, vip, vip_plus):
    now = timezone.now()
    subscription = pay(customer, vip, now=now).subscription
    subscriptions.change_plan(subscription=subscription, plan=vip_plus, now=now)
    subscription.refresh_from_db()
    assert subscription.plan == vip and subscription.next_plan == vip_plus
    assert subscriptions.plan_multiplier(subscription.membership, now) == Decimal("2")
    renewal = subscription.period_end - timedelta(days=1)
    with pytest.raises(SubscriptionError, match="costs"):
        pay(customer, vip, amount="99.00", now=renewal)
    payment = pay(customer, vip, amount="199.00", now=renewal)
    assert payment.plan == vip_plus
    subscription.refresh_from_db()
    assert subscription.plan == vip_plus and subscription.next_plan is None


def test_a_retired_plan_takes_no_one_new_but_keeps_its_subscribers(shop, customer, member, vip):
    now = timezone.now()
    subscription = pay(customer, vip, now=now).subscription
    vip.is_active = False
    vip.save()
    with pytest.raises(SubscriptionError, match="no new subscribers"):
        pay(member, vip)
    pay(customer, vip, now=subscription.period_end - timedelta(days=1))
    assert SubscriptionPayment.objects.filter(subscription=subscription).count() == 2


def test_purchases_earn_base_times_tier_times_plan_rounded_down_once(shop, store, customer, vip):
    vip.multiplier = Decimal("1.5")
    vip.save()
    pay(customer, vip)
    purchase, _ = services.record_purchase(store=store, member=customer, external_id="R1",
                                           amount="10.50")
    # 10.50 × 1 (no tier) × 1.5 = 15.75 → 15
    assert purchase.points_earned == {"points": 15}


def test_renewal_reminders_go_once_per_period(shop, customer, vip):
    now = timezone.now()
    subscription = pay(customer, vip, now=now).subscription
    soon = subscription.period_end - timedelta(days=3)
    assert subscriptions.send_renewal_reminders(now=soon) == 1
    assert subscriptions.send_renewal_reminders(now=soon + timedelta(hours=1)) == 0
    email = OutboxEmail.objects.get(kind="plan_renewal_due_period")
    assert "VIP" in email.subject and "Pay at the till" in email.body_text


def test_figures_mrr_active_subscribers_and_churn(shop, customer, member, vip):
    now = timezone.now()
    start = now - timedelta(days=10)
    pay(customer, vip, now=start - timedelta(days=1))
    lapsing = pay(member, vip, now=start - timedelta(days=1)).subscription
    subscriptions.cancel_subscription(subscription=lapsing, now=start)
    # Lapses when its paid month ends, after `now`; measure a window that includes it.
    end = lapsing.period_end + timedelta(days=1)
    subscriptions.advance_subscriptions(now=lapsing.period_end)
    figures = subscriptions.subscription_figures(start, end)
    assert figures["churn_rate"] == Decimal("0.5")
    assert figures["revenue"] == Decimal("0")  # both paid before the window
    inside = subscriptions.subscription_figures(start - timedelta(days=2), start)
    assert inside["mrr"] == Decimal("198.00") and inside["active_subscribers"] == 2
    assert inside["revenue"] == Decimal("198.00")
