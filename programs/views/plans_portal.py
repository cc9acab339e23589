"""The member portal's paid memberships: compare plans, join (free trial, at the till, or online
with Stripe), see status, next payment and receipts, change plan, cancel; and Stripe's webhook.

Thin: reads through programs.subscriptions, writes through its services. Every subscription is
found through the signed-in member, so another member's is a 404 like a missing one.
"""

import logging

import stripe
from django.contrib import messages
from django.http import Http404, HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from .. import stripe_payments, subscriptions
from ..models import Plan, Subscription
from ..subscriptions import SubscriptionError
from .portal import member_required

logger = logging.getLogger(__name__)


@require_GET
@member_required
def plans(request, member):
    mine = subscriptions.member_subscriptions(member)
    live = [s for s in mine if s.status in subscriptions.LIVE]
    live_programs = {s.membership.program_id for s in live}
    return render(request, "portal/plans/plans.html", {
        "plans": list(subscriptions.open_plans()),
        "live": live,
        "live_programs": live_programs,
        "receipts": subscriptions.member_receipts(member),
        "online": stripe_payments.online_payments_enabled(),
    })


def _open_plan(request):
    return get_object_or_404(Plan, pk=request.POST.get("plan"), is_active=True)


def _own(member, subscription_id):
    return get_object_or_404(Subscription, pk=subscription_id, membership__member=member)


@require_POST
@member_required
def start_trial(request, member):
    try:
        subscriptions.start_trial(member=member, plan=_open_plan(request), actor=request.user)
    except SubscriptionError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Your free trial has started."))
    return redirect("portal:plans")


@require_POST
@member_required
def checkout(request, member):
    if not stripe_payments.online_payments_enabled():
        raise Http404
    back = request.build_absolute_uri(reverse("portal:plans"))
    try:
        url = stripe_payments.start_checkout(member=member, plan=_open_plan(request),
                                             success_url=f"{back}?paid=1", cancel_url=back)
    except SubscriptionError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("portal:plans")
    except stripe.StripeError:
        logger.exception("Stripe Checkout could not be started for member %s", member.number)
        messages.error(request, _("Online payment is not available right now; please try again "
                                  "later or pay at the till."))
        return redirect("portal:plans")
    return redirect(url)


@require_POST
@member_required
def cancel(request, member, subscription_id):
    subscription = _own(member, subscription_id)
    if (subscription.stripe_subscription_id and subscription.status in subscriptions.LIVE
            and stripe_payments.online_payments_enabled()):
        try:
            stripe_payments.cancel_online(subscription)
        except stripe.StripeError:
            logger.exception("Stripe cancellation failed for subscription %s", subscription.pk)
            messages.error(request, _("The cancellation could not reach the payment provider; "
                                      "nothing has changed. Please try again later."))
            return redirect("portal:plans")
    _subscription, message = subscriptions.cancel_subscription(subscription=subscription,
                                                               actor=request.user)
    messages.info(request, message)
    return redirect("portal:plans")


@require_POST
@member_required
def change_plan(request, member, subscription_id):
    subscription = _own(member, subscription_id)
    plan = get_object_or_404(Plan, pk=request.POST.get("plan"))
    try:
        subscriptions.change_plan(subscription=subscription, plan=plan, actor=request.user)
    except SubscriptionError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("Your plan changes at the next renewal."))
    return redirect("portal:plans")


@csrf_exempt
@require_POST
def stripe_webhook(request):
    """Stripe's calls: signed with the webhook secret, which is all the authentication there is."""
    if not stripe_payments.online_payments_enabled():
        raise Http404
    try:
        stripe_payments.receive_webhook(request.body, request.headers.get("Stripe-Signature", ""))
    except (ValueError, stripe.SignatureVerificationError) as error:
        logger.warning("Stripe webhook refused: %s", error)
        return HttpResponseBadRequest("invalid payload or signature")
    return HttpResponse("ok")
