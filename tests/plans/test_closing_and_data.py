"""A member's paid memberships in their privacy download, and ending them when the member closes
their account: at once, nothing more charged or credited, stopped at Stripe for an online one
(mocked: nothing calls the network), logged with its cause, the ledger still true."""

import json
from datetime import timedelta
from unittest import mock

import pytest
import stripe
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from loyalty_site import privacy
from loyalty_site.models import OutboxEmail
from programs import subscriptions
from programs.models import LedgerEntry, StripeEvent, Subscription, SubscriptionEvent
from programs.selectors import ledger_breaches
from programs.subscriptions import SubscriptionError

from .test_stripe import deliver, invoice_event, subscription_event

Status = Subscription.Status


def pay(member, plan, now):
    return subscriptions.record_subscription_payment(member=member, plan=plan, amount=plan.price,
                                                     method="cash", now=now)


def bonus_entries(member):
    return LedgerEntry.objects.filter(membership__member=member, cause_key__startswith="plan-period:")


def test_the_download_holds_subscriptions_receipts_and_their_history(client, shop, customer, vip,
                                                                     manager):
    now = timezone.now()
    first = pay(customer, vip, now - timedelta(days=40))
    subscriptions.advance_subscriptions(now=first.period_end + timedelta(hours=1))
    subscriptions.comp_period(subscription=first.subscription, reason="Till was down",
                              actor=manager, now=first.period_end + timedelta(hours=2))
    client.force_login(customer.user)
    sections = json.loads(client.get(reverse("portal:privacy_json")).content)["sections"]
    (row,) = sections["subscriptions"]
    assert (row["program"], row["plan"], row["status"], row["paid_online"]) == (
        "Points", "VIP", "active", False)
    assert [(p["method"], p["amount"], p["reason"]) for p in sections["subscription_payments"]] == [
        ("cash", "99.00", ""), ("comp", "0.00", "Till was down")]
    assert [(e["from"], e["to"]) for e in sections["subscription_history"]] == [
        (None, "active"), ("active", "past_due"), ("past_due", "active")]
    assert sections["subscription_history"][2]["cause"] == "Period given free: Till was down"


def test_closing_ends_a_till_subscription_at_once_and_credits_nothing_more(shop, customer, vip):
    now = timezone.now()
    first = pay(customer, vip, now - timedelta(days=27))
    ahead = pay(customer, vip, now - timedelta(days=1))  # the next month, paid ahead
    privacy.close_account(user=customer.user, now=now)

    subscription = Subscription.objects.get()
    assert subscription.status == Status.LAPSED and subscription.ended_at == now
    event = SubscriptionEvent.objects.filter(subscription=subscription).last()
    assert (event.from_status, event.to_status, event.cause) == (
        "active", "lapsed", "Account closed by the member")
    # The month paid ahead begins after the account closed: no bonus, no reminder, no moves.
    assert subscriptions.credit_due_bonuses(now=ahead.period_start + timedelta(hours=1)) == 0
    assert bonus_entries(customer).count() == 1
    assert subscriptions.send_renewal_reminders(now=ahead.period_end - timedelta(days=2)) == 0
    assert subscriptions.advance_subscriptions(now=first.period_end + timedelta(days=60)) == {
        "past_due": 0, "lapsed": 0}
    assert not OutboxEmail.objects.filter(kind__startswith="plan_renewal").exists()
    # A closed card takes no payment.
    with pytest.raises(SubscriptionError, match="card is closed"):
        pay(customer, vip, now)
    assert list(ledger_breaches()) == []
    call_command("verify_ledger")


@pytest.mark.parametrize("status", ["trialing", "cancelled", "past_due"])
def test_closing_ends_a_trial_a_cancelled_or_an_overdue_subscription_too(shop, customer, vip,
                                                                        trial_plan, status):
    now = timezone.now()
    if status == "trialing":
        subscriptions.start_trial(member=customer, plan=trial_plan, now=now - timedelta(days=1))
    else:
        paid = pay(customer, vip, now - timedelta(days=33))
        if status == "cancelled":
            subscriptions.cancel_subscription(subscription=paid.subscription, now=now)
        else:
            subscriptions.advance_subscriptions(now=paid.period_end + timedelta(hours=1))
    assert Subscription.objects.get().status == status
    privacy.close_account(user=customer.user, now=now)
    assert Subscription.objects.get().status == Status.LAPSED
    assert SubscriptionEvent.objects.filter(to_status="lapsed").count() == 1


def test_closing_stops_an_online_subscription_at_stripe_at_once(client, keys, shop, customer, vip):
    deliver(client, invoice_event("evt_1", customer=customer, plan=vip))
    with mock.patch("stripe.Subscription.cancel") as cancel:
        privacy.close_account(user=customer.user)
    cancel.assert_called_once_with("sub_1", prorate=False, invoice_now=False,
                                   api_key="sk_test_123")
    subscription = Subscription.objects.get()
    assert subscription.status == Status.LAPSED
    # Stripe's own word of the cancellation, and a late invoice for the paid month, change nothing.
    deliver(client, subscription_event("evt_2", "deleted"))
    assert StripeEvent.objects.get(event_id="evt_2").outcome == "already ended"
    deliver(client, invoice_event("evt_3", customer=customer, plan=vip,
                                  start=int(subscription.period_start.timestamp())))
    assert StripeEvent.objects.get(event_id="evt_3").outcome.startswith("stale")
    assert Subscription.objects.count() == 1 and bonus_entries(customer).count() == 1
    assert list(ledger_breaches()) == []


def test_a_subscription_stripe_no_longer_knows_is_ended_all_the_same(client, keys, shop, customer,
                                                                     vip):
    deliver(client, invoice_event("evt_1", customer=customer, plan=vip))
    gone = stripe.InvalidRequestError("No such subscription: 'sub_1'", "id",
                                      code="resource_missing")
    with mock.patch("stripe.Subscription.cancel", side_effect=gone):
        privacy.close_account(user=customer.user)
    assert Subscription.objects.get().status == Status.LAPSED


def test_when_stripe_cannot_be_reached_the_account_stays_open_and_nothing_changes(
        client, keys, shop, customer, vip, password):
    deliver(client, invoice_event("evt_1", customer=customer, plan=vip))
    client.force_login(customer.user)
    with mock.patch("stripe.Subscription.cancel",
                    side_effect=stripe.APIConnectionError("network down")):
        response = client.post(reverse("portal:close_account"), {"password": password}, follow=True)
    assert "could not be stopped with the payment provider" in response.content.decode()
    customer.user.refresh_from_db()
    customer.refresh_from_db()
    assert customer.user.is_active and customer.closed_at is None
    assert Subscription.objects.get().status == Status.ACTIVE
    assert SubscriptionEvent.objects.count() == 1


def test_with_online_payment_switched_off_an_online_subscription_blocks_closing(
        client, keys, settings, shop, customer, vip):
    deliver(client, invoice_event("evt_1", customer=customer, plan=vip))
    settings.STRIPE_SECRET_KEY = ""
    with pytest.raises(ValidationError, match="ask the shop to cancel it"):
        privacy.close_account(user=customer.user)
    assert Subscription.objects.get().status == Status.ACTIVE
