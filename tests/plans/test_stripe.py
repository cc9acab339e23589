"""Stripe Checkout and webhooks, signed locally with a test secret; nothing calls the network."""

import hashlib
import hmac
import json
import time
from datetime import timedelta
from unittest import mock

import pytest
import stripe
from django.urls import reverse
from django.utils import timezone

from programs import subscriptions
from programs.models import LedgerEntry, StripeEvent, Subscription, SubscriptionPayment
from programs.subscriptions import SubscriptionError

Status = Subscription.Status
SECRET = "whsec_test_secret"
DAY = 24 * 3600


def signed(payload, secret=SECRET, at=None):
    """The Stripe-Signature header as Stripe computes it: HMAC-SHA256 of "<t>.<payload>"."""
    at = at or int(time.time())
    digest = hmac.new(secret.encode(), f"{at}.{payload}".encode(), hashlib.sha256).hexdigest()
    return f"t={at},v1={digest}"


def deliver(client, event, secret=SECRET):
    payload = json.dumps(event)
    return client.post(reverse("portal:stripe_webhook"), payload, content_type="application/json",
                       HTTP_STRIPE_SIGNATURE=signed(payload, secret))


def invoice_event(event_id, *, customer=None, plan=None, stripe_id="sub_1", amount=9900,
                  currency="sek", start=None, created=None):
    start = start if start is not None else int(time.time())
    metadata = {"patron_member": customer.number, "patron_plan": str(plan.pk)} if customer else {}
    return {
        "id": event_id, "type": "invoice.paid", "created": created or int(time.time()),
        "data": {"object": {
            "id": f"in_{event_id}", "amount_paid": amount, "currency": currency,
            "parent": {"subscription_details": {"subscription": stripe_id, "metadata": metadata}},
            "lines": {"data": [{"period": {"start": start, "end": start + 30 * DAY}}]},
        }},
    }


def subscription_event(event_id, kind, *, stripe_id="sub_1", created=None, **fields):
    return {"id": event_id, "type": f"customer.subscription.{kind}",
            "created": created or int(time.time()),
            "data": {"object": {"id": stripe_id, "object": "subscription", **fields}}}


def test_the_first_invoice_starts_the_subscription_and_a_duplicate_changes_nothing(
        client, keys, shop, customer, vip):
    event = invoice_event("evt_1", customer=customer, plan=vip)
    assert deliver(client, event).status_code == 200
    assert deliver(client, event).status_code == 200
    subscription = Subscription.objects.get()
    assert subscription.status == Status.ACTIVE and subscription.stripe_subscription_id == "sub_1"
    payment = SubscriptionPayment.objects.get()
    assert payment.method == "stripe" and payment.reference == "in_evt_1"
    assert StripeEvent.objects.get().outcome == "joined and paid"
    assert LedgerEntry.objects.filter(cause_key__startswith="plan-period:").count() == 1


def test_the_same_invoice_under_another_event_id_is_stale(client, keys, shop, customer, vip):
    start = int(time.time())
    deliver(client, invoice_event("evt_1", customer=customer, plan=vip, start=start))
    deliver(client, invoice_event("evt_2", customer=customer, plan=vip, start=start))
    assert SubscriptionPayment.objects.count() == 1
    assert StripeEvent.objects.get(event_id="evt_2").outcome == "stale: that period is paid already"


def test_a_renewal_that_arrives_after_a_later_one_is_ignored(client, keys, shop, customer, vip):
    start = int(time.time())
    deliver(client, invoice_event("evt_1", customer=customer, plan=vip, start=start))
    deliver(client, invoice_event("evt_3", start=start + 60 * DAY))
    late = deliver(client, invoice_event("evt_2", start=start + 30 * DAY))
    assert late.status_code == 200
    assert StripeEvent.objects.get(event_id="evt_2").outcome.startswith("stale")
    assert SubscriptionPayment.objects.count() == 2


def test_an_invoice_for_an_unknown_subscription_is_answered_and_logged(client, keys, shop, caplog):
    response = deliver(client, invoice_event("evt_9", stripe_id="sub_unknown"))
    assert response.status_code == 200
    assert StripeEvent.objects.get().outcome == "unknown subscription: nothing recorded"
    assert not Subscription.objects.exists()
    assert "unknown subscription" in caplog.text


@pytest.mark.parametrize(("amount", "currency", "words"), [
    (5000, "sek", "not the right amount"), (9900, "eur", "not EUR")])
def test_a_wrong_amount_or_currency_is_recorded_as_refused(client, keys, shop, customer, vip,
                                                           amount, currency, words):
    response = deliver(client, invoice_event("evt_1", customer=customer, plan=vip, amount=amount,
                                             currency=currency))
    assert response.status_code == 200
    outcome = StripeEvent.objects.get().outcome
    assert outcome.startswith("refused:") and words in outcome
    assert not Subscription.objects.exists() and not SubscriptionPayment.objects.exists()


def test_a_bad_signature_is_refused_and_nothing_is_kept(client, keys, shop, customer, vip):
    response = deliver(client, invoice_event("evt_1", customer=customer, plan=vip),
                       secret="whsec_wrong")
    assert response.status_code == 400
    assert not StripeEvent.objects.exists() and not Subscription.objects.exists()


def test_without_keys_there_is_no_webhook_and_no_online_option(client, shop, customer, vip):
    assert deliver(client, invoice_event("evt_1", customer=customer, plan=vip)).status_code == 404
    client.force_login(customer.user)
    assert "Pay online" not in client.get(reverse("portal:plans")).content.decode()
    assert client.post(reverse("portal:plan_checkout"), {"plan": vip.pk}).status_code == 404


def test_cancellation_in_stripe_and_a_stale_deletion(client, keys, shop, customer, vip):
    now = int(time.time())
    deliver(client, invoice_event("evt_1", customer=customer, plan=vip, created=now))
    deliver(client, subscription_event("evt_2", "updated", created=now + 10,
                                       cancel_at_period_end=True))
    subscription = Subscription.objects.get()
    assert subscription.status == Status.CANCELLED
    # A deletion created before the update arrives last: stale, nothing changes.
    deliver(client, subscription_event("evt_0", "deleted", created=now + 5))
    assert StripeEvent.objects.get(event_id="evt_0").outcome == "stale: a later event was applied"
    deliver(client, subscription_event("evt_4", "updated", stripe_id="sub_other",
                                       cancel_at_period_end=True))
    assert StripeEvent.objects.get(event_id="evt_4").outcome.startswith("unknown subscription")


def test_checkout_sends_the_plan_to_stripe_and_redirects(client, keys, shop, customer, vip):
    client.force_login(customer.user)
    assert "Pay online" in client.get(reverse("portal:plans")).content.decode()
    session = mock.Mock(url="https://checkout.stripe.test/c/pay_1")
    with mock.patch("stripe.checkout.Session.create", return_value=session) as create:
        response = client.post(reverse("portal:plan_checkout"), {"plan": vip.pk})
    assert response.status_code == 302 and response["Location"] == session.url
    kwargs = create.call_args.kwargs
    assert kwargs["mode"] == "subscription"
    assert kwargs["line_items"][0]["price_data"] == {
        "currency": "sek", "unit_amount": 9900, "product_data": {"name": "VIP"},
        "recurring": {"interval": "month"}}
    assert kwargs["subscription_data"]["metadata"] == {"patron_member": customer.number,
                                                       "patron_plan": str(vip.pk)}


def test_a_member_cancels_an_online_subscription_in_stripe_too(client, keys, shop, customer, vip):
    deliver(client, invoice_event("evt_1", customer=customer, plan=vip))
    subscription = Subscription.objects.get()
    client.force_login(customer.user)
    with mock.patch("stripe.Subscription.modify") as modify:
        client.post(reverse("portal:plan_cancel", args=[subscription.pk]))
    modify.assert_called_once_with("sub_1", cancel_at_period_end=True, api_key="sk_test_123")
    subscription.refresh_from_db()
    assert subscription.status == Status.CANCELLED
    assert subscription.period_end > timezone.now() + timedelta(days=25)


def test_a_renewal_of_the_wrong_amount_is_refused_and_the_subscription_stays_as_it_was(
        client, keys, shop, customer, vip):
    start = int(time.time())
    deliver(client, invoice_event("evt_1", customer=customer, plan=vip, start=start))
    paid_until = Subscription.objects.get().period_end
    renewal = invoice_event("evt_2", start=start + 30 * DAY, amount=5000,
                            created=start + 30 * DAY - 3 * DAY)
    assert deliver(client, renewal).status_code == 200
    outcome = StripeEvent.objects.get(event_id="evt_2").outcome
    assert outcome.startswith("refused:") and "not the right amount" in outcome
    subscription = Subscription.objects.get()
    assert subscription.period_end == paid_until and SubscriptionPayment.objects.count() == 1
    assert LedgerEntry.objects.filter(cause_key__startswith="plan-period:").count() == 1


def test_a_cancellation_told_twice_by_stripe_cancels_once(client, keys, shop, customer, vip):
    now = int(time.time())
    deliver(client, invoice_event("evt_1", customer=customer, plan=vip, created=now))
    deliver(client, subscription_event("evt_2", "updated", created=now + 10,
                                       cancel_at_period_end=True))
    deliver(client, subscription_event("evt_3", "updated", created=now + 20,
                                       cancel_at_period_end=True))
    deliver(client, subscription_event("evt_4", "deleted", created=now + 30))
    outcomes = dict(StripeEvent.objects.values_list("event_id", "outcome"))
    assert outcomes["evt_2"] == "cancelled at period end"
    assert outcomes["evt_3"] == "nothing to change"
    assert outcomes["evt_4"].startswith("Already cancelled: it ends on")
    subscription = Subscription.objects.get()
    assert subscription.status == Status.CANCELLED
    assert subscription.events.filter(to_status=Status.CANCELLED).count() == 1


def test_an_online_subscriber_changing_plan_has_stripe_charge_the_new_price_from_the_renewal(
        client, keys, shop, customer, vip, vip_plus):
    start = int(time.time())
    deliver(client, invoice_event("evt_1", customer=customer, plan=vip, start=start))
    subscription = Subscription.objects.get()
    online = {"items": {"data": [{"id": "si_1"}]}}
    with mock.patch("stripe.Subscription.retrieve", return_value=online), \
            mock.patch("stripe.Subscription.modify") as modify:
        subscriptions.change_plan(subscription=subscription, plan=vip_plus)
    (stripe_id,), told = modify.call_args
    assert stripe_id == "sub_1" and told["proration_behavior"] == "none"
    assert told["items"] == [{"id": "si_1", "price_data": {
        "currency": "sek", "unit_amount": int(vip_plus.price * 100),
        "product_data": {"name": vip_plus.name}, "recurring": {"interval": vip_plus.period}}}]
    # Stripe's renewal at the new price is taken, and the new plan starts with it.
    renewal = invoice_event("evt_2", start=start + 30 * DAY, amount=int(vip_plus.price * 100),
                            created=start + 30 * DAY)
    assert deliver(client, renewal).status_code == 200
    subscription.refresh_from_db()
    assert subscription.plan == vip_plus and subscription.next_plan is None


def test_a_plan_change_stripe_cannot_take_changes_nothing(keys, shop, customer, vip, vip_plus, client):
    deliver(client, invoice_event("evt_1", customer=customer, plan=vip))
    subscription = Subscription.objects.get()
    with mock.patch("stripe.Subscription.retrieve", side_effect=stripe.APIConnectionError("down")), \
            pytest.raises(SubscriptionError, match="try again later"):
        subscriptions.change_plan(subscription=subscription, plan=vip_plus)
    subscription.refresh_from_db()
    assert subscription.next_plan is None
    assert not subscription.events.filter(cause__startswith="Changes to").exists()
