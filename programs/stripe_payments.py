"""Paying for a plan online with Stripe Checkout, and Stripe's webhooks (docs/plans.md).

Online payment exists only when both STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET are set; without
them the portal hides it. A webhook's signature is checked with the webhook secret; each event is
processed once (StripeEvent's unique id), inside one transaction with what it changes, so an
event that fails is rolled back and Stripe's retry processes it again. Every event gets an answer
of 200 and a written outcome, including those for a subscription Patron does not know and those
refused (a wrong amount or currency): retrying them would change nothing.
"""

import logging
from datetime import UTC, datetime
from decimal import Decimal

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from .business import shop_currency
from .models import Member, Plan, StripeEvent, Subscription
from .money import minor_unit
from .subscriptions import (
    LIVE,
    Method,
    Status,
    SubscriptionError,
    cancel_subscription,
    lock_subscription,
    record_subscription_payment,
)

logger = logging.getLogger(__name__)


def online_payments_enabled():
    return bool(settings.STRIPE_SECRET_KEY and settings.STRIPE_WEBHOOK_SECRET)


def _minor_units(amount, currency):
    return int(amount.scaleb(minor_unit(currency)))


def _price_data(plan):
    """What Stripe charges each period for `plan` (Checkout and plan changes alike)."""
    return {
        "currency": shop_currency().lower(),
        "unit_amount": _minor_units(plan.price, shop_currency()),
        "product_data": {"name": plan.name},
        "recurring": {"interval": plan.period},
    }


def start_checkout(*, member, plan, success_url, cancel_url):
    """A Stripe Checkout page for joining `plan`; returns its address. The member and plan ride
    along as metadata of the Stripe subscription, so its first invoice can start ours."""
    if not online_payments_enabled():
        raise SubscriptionError(_("Online payment is not available."))
    if not plan.is_active:
        raise SubscriptionError(_("%(plan)s takes no new subscribers.") % {"plan": plan.name})
    if Subscription.objects.filter(membership__member=member, membership__program=plan.program_id,
                                   status__in=LIVE).exists():
        raise SubscriptionError(_("You already have a subscription to %(program)s.")
                                % {"program": plan.program.name})
    metadata = {"patron_member": member.number, "patron_plan": str(plan.pk)}
    session = stripe.checkout.Session.create(
        api_key=settings.STRIPE_SECRET_KEY,
        mode="subscription",
        customer_email=member.user.email,
        client_reference_id=member.number,
        metadata=metadata,
        subscription_data={"metadata": metadata},
        line_items=[{"quantity": 1, "price_data": _price_data(plan)}],
        success_url=success_url,
        cancel_url=cancel_url,
    )
    return session.url


def cancel_online(subscription):
    """Ask Stripe to stop renewing; our own cancellation follows (and Stripe's event repeats it,
    harmlessly). Raises stripe.StripeError when Stripe cannot be reached."""
    stripe.Subscription.modify(subscription.stripe_subscription_id, cancel_at_period_end=True,
                               api_key=settings.STRIPE_SECRET_KEY)


def charge_next_period_for(subscription, plan):
    """Have Stripe charge `plan`'s price from the subscription's next invoice on, with nothing
    prorated: a plan change takes effect at the renewal (docs/plans.md). Raises
    SubscriptionError, saying to try again, when Stripe cannot be reached."""
    try:
        online = stripe.Subscription.retrieve(subscription.stripe_subscription_id,
                                              api_key=settings.STRIPE_SECRET_KEY)
        stripe.Subscription.modify(
            subscription.stripe_subscription_id, proration_behavior="none",
            items=[{"id": online["items"]["data"][0]["id"], "price_data": _price_data(plan)}],
            metadata={"patron_member": subscription.membership.member.number,
                      "patron_plan": str(plan.pk)},
            api_key=settings.STRIPE_SECRET_KEY)
    except stripe.StripeError as error:
        logger.exception("Stripe plan change failed for subscription %s", subscription.pk)
        raise SubscriptionError(_("The plan could not be changed with the payment provider; "
                                  "nothing has changed. Please try again later.")) from error


def stop_online_now(subscription):
    """Cancel the Stripe subscription at once, for a member closing their account: no further
    invoice, nothing prorated or refunded. One Stripe no longer knows is stopped already.
    Raises SubscriptionError, saying to try again, when Stripe cannot be reached."""
    try:
        stripe.Subscription.cancel(subscription.stripe_subscription_id, prorate=False,
                                   invoice_now=False, api_key=settings.STRIPE_SECRET_KEY)
    except stripe.InvalidRequestError as error:
        if error.code != "resource_missing":
            raise
        logger.info("Stripe subscription %s is gone already", subscription.stripe_subscription_id)
    except stripe.StripeError as error:
        logger.exception("Stripe cancellation failed for subscription %s", subscription.pk)
        raise SubscriptionError(_("Your online subscription could not be stopped with the payment "
                                  "provider; nothing has changed. Please try again later.")) from error


def receive_webhook(payload, signature):
    """Verify and process one webhook call. Raises ValueError or stripe.SignatureVerificationError
    for a payload that is not Stripe's; returns the StripeEvent written (or found, for a repeat)."""
    event = stripe.Webhook.construct_event(payload, signature, settings.STRIPE_WEBHOOK_SECRET)
    # Plain dicts from here on: the handlers read optional fields with .get().
    return process_event(event.to_dict())


def _when(epoch):
    return datetime.fromtimestamp(int(epoch), tz=UTC)


@transaction.atomic
def process_event(event):
    created = _when(event["created"])
    record = StripeEvent(event_id=event["id"], type=event["type"], created=created, outcome="")
    try:
        # Waits for a parallel delivery of the same event to commit, then fails: processed once.
        with transaction.atomic():
            record.save()
    except IntegrityError:
        repeat = StripeEvent.objects.get(event_id=event["id"])
        logger.info("Stripe event %s received again; processed before: %s", repeat.event_id,
                    repeat.outcome)
        return repeat
    handler = HANDLERS.get(event["type"])
    data = event["data"]["object"]
    subscription, outcome = handler(data, created) if handler else (None, "ignored: not used")
    record.subscription, record.outcome = subscription, outcome[:300]
    record.save(update_fields=["subscription", "outcome"])
    logger.info("Stripe event %s (%s): %s", record.event_id, record.type, record.outcome)
    return record


def _subscription_id(invoice):
    """The Stripe subscription of an invoice: at the top in older API versions, under
    parent.subscription_details in newer ones."""
    details = (invoice.get("parent") or {}).get("subscription_details") or {}
    return invoice.get("subscription") or details.get("subscription") or ""


def _metadata(invoice):
    details = (invoice.get("parent") or {}).get("subscription_details") or invoice.get(
        "subscription_details") or {}
    return details.get("metadata") or {}


def _locked_by_stripe_id(stripe_id):
    if not stripe_id:
        return None
    subscription = Subscription.objects.filter(stripe_subscription_id=stripe_id).first()
    return lock_subscription(subscription) if subscription else None


def invoice_paid(invoice, created):
    stripe_id = _subscription_id(invoice)
    currency = str(invoice.get("currency") or "").upper()
    amount = Decimal(int(invoice.get("amount_paid") or 0)).scaleb(-minor_unit(currency or None))
    lines = (invoice.get("lines") or {}).get("data") or [{}]
    period = lines[0].get("period") or {}
    if "start" not in period or "end" not in period:
        return None, "refused: the invoice has no period"
    start, end = _when(period["start"]), _when(period["end"])
    subscription = _locked_by_stripe_id(stripe_id)
    if subscription is None:
        return _join(invoice, stripe_id, amount, currency, (start, end), created)
    if end <= subscription.period_end:
        # Arrived after a later invoice, or a repeat under another event id: already paid.
        return subscription, "stale: that period is paid already"
    try:
        record_subscription_payment(
            member=subscription.membership.member, plan=subscription.plan, amount=amount,
            currency=currency, method=Method.STRIPE, reference=invoice.get("id", ""),
            period=(start, end))
    except SubscriptionError as error:
        logger.warning("Stripe invoice %s refused: %s", invoice.get("id"), error.messages)
        return subscription, "refused: " + " ".join(error.messages)
    _note_event_time(subscription, created)
    return subscription, "paid"


def _join(invoice, stripe_id, amount, currency, period, created):
    """The first invoice of a Checkout subscription starts ours, from the metadata we gave."""
    metadata = _metadata(invoice)
    member = Member.objects.filter(number=metadata.get("patron_member") or "").first()
    plan_id = str(metadata.get("patron_plan") or "")
    plan = Plan.objects.filter(pk=plan_id).first() if plan_id.isdigit() else None
    if member is None or plan is None:
        logger.warning("Stripe invoice %s for unknown subscription %r", invoice.get("id"), stripe_id)
        return None, "unknown subscription: nothing recorded"
    try:
        payment = record_subscription_payment(
            member=member, plan=plan, amount=amount, currency=currency, method=Method.STRIPE,
            reference=invoice.get("id", ""), period=period, stripe_subscription_id=stripe_id)
    except SubscriptionError as error:
        logger.warning("Stripe invoice %s refused: %s", invoice.get("id"), error.messages)
        return None, "refused: " + " ".join(error.messages)
    _note_event_time(payment.subscription, created)
    return payment.subscription, "joined and paid"


def _note_event_time(subscription, created):
    if subscription.stripe_event_at is None or created > subscription.stripe_event_at:
        Subscription.objects.filter(pk=subscription.pk).update(stripe_event_at=created)


def _stale(subscription, created):
    return subscription.stripe_event_at is not None and created < subscription.stripe_event_at


def subscription_updated(data, created):
    subscription = _locked_by_stripe_id(data.get("id"))
    if subscription is None:
        logger.warning("Stripe update for unknown subscription %r", data.get("id"))
        return None, "unknown subscription: nothing changed"
    if _stale(subscription, created):
        return subscription, "stale: a later event was applied"
    _note_event_time(subscription, created)
    if data.get("cancel_at_period_end") and subscription.status in (Status.TRIALING, Status.ACTIVE):
        cancel_subscription(subscription=subscription, cause="Cancelled online (Stripe)",
                            now=timezone.now())
        return subscription, "cancelled at period end"
    return subscription, "nothing to change"


def subscription_deleted(data, created):
    """Stripe stopped the subscription: it ends once what was paid runs out (the hourly task
    lapses a cancelled subscription at its period's end); an overdue one ends now."""
    subscription = _locked_by_stripe_id(data.get("id"))
    if subscription is None:
        logger.warning("Stripe deletion for unknown subscription %r", data.get("id"))
        return None, "unknown subscription: nothing changed"
    if _stale(subscription, created):
        return subscription, "stale: a later event was applied"
    _note_event_time(subscription, created)
    if subscription.status == Status.LAPSED:
        return subscription, "already ended"
    _, message = cancel_subscription(subscription=subscription, cause="Ended in Stripe",
                                     now=timezone.now())
    return subscription, message


HANDLERS = {
    "invoice.paid": invoice_paid,
    "customer.subscription.updated": subscription_updated,
    "customer.subscription.deleted": subscription_deleted,
}
