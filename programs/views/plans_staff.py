"""Staff pages for paid memberships: subscribers by status with the figures, one subscription's
history and receipts, payments taken at the till, periods given free by a manager, and the plans
a manager sets up.

Thin: reads through programs.subscriptions, writes through its services.
"""

from datetime import timedelta

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from loyalty_site.permissions import staff_required
from loyalty_site.roles import perm

from .. import selectors, subscriptions
from ..forms import PlanForm
from ..models import Plan, Subscription, SubscriptionPayment
from ..subscriptions import SubscriptionError

PAGE_SIZE = 50
FIGURES_DAYS = 30


@require_GET
@staff_required("use_till")
def subscribers(request):
    status = request.GET.get("status", "")
    if status not in Subscription.Status.values:
        status = ""
    page = Paginator(subscriptions.subscribers(status or None), PAGE_SIZE).get_page(
        request.GET.get("page"))
    figures = None
    if request.user.has_perm(perm("view_metrics")):
        now = timezone.now()
        figures = subscriptions.subscription_figures(now - timedelta(days=FIGURES_DAYS), now)
    return render(request, "staff/plans/subscribers.html", {
        "page": page, "status": status, "statuses": Subscription.Status.choices,
        "figures": figures, "figures_days": FIGURES_DAYS,
        "plans": Plan.objects.filter(is_active=True).select_related("program"),
        "methods": [SubscriptionPayment.Method.CASH, SubscriptionPayment.Method.CARD],
    })


@require_GET
@staff_required("use_till")
def subscription(request, subscription_id):
    subscription = get_object_or_404(Subscription.objects.select_related(
        "plan", "next_plan", "membership__member__user", "membership__program"), pk=subscription_id)
    return render(request, "staff/plans/subscription.html", {
        "subscription": subscription,
        "due_plan": subscription.next_plan or subscription.plan,
        "events": subscription.events.select_related("actor"),
        "payments": subscription.payments.select_related("plan", "actor"),
        "methods": [SubscriptionPayment.Method.CASH, SubscriptionPayment.Method.CARD],
    })


@require_POST
@staff_required("use_till")
def record_payment(request):
    """A payment at the till: joins the plan, or renews the member's subscription in its program."""
    # The subscription page sends its id, to come back there; the subscribers page does not.
    back = request.POST.get("subscription", "")
    back = ("staff:plan_subscription", int(back)) if back.isdigit() else ("staff:plan_subscribers",)
    member = selectors.member_by_number(request.POST.get("number", ""))
    plan_id = request.POST.get("plan", "")
    plan = Plan.objects.select_related("program").filter(pk=plan_id).first() if plan_id.isdigit() else None
    if member is None or plan is None:
        messages.error(request, _("Enter a member number and choose a plan."))
        return redirect(*back)
    try:
        payment = subscriptions.record_subscription_payment(
            member=member, plan=plan, amount=request.POST.get("amount", ""),
            currency=request.POST.get("currency") or None, method=request.POST.get("method", ""),
            reference=request.POST.get("reference", ""), actor=request.user)
    except SubscriptionError as error:
        messages.error(request, " ".join(error.messages))
        return redirect(*back)
    messages.success(request, _("Payment recorded: paid until %(date)s.") % {
        "date": date_format(timezone.localtime(payment.period_end))})
    return redirect("staff:plan_subscription", payment.subscription_id)


@require_POST
@staff_required("manage_programs")
def comp_period(request, subscription_id):
    subscription = get_object_or_404(Subscription, pk=subscription_id)
    try:
        subscriptions.comp_period(subscription=subscription, reason=request.POST.get("reason", ""),
                                  actor=request.user)
    except SubscriptionError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, _("The period is given free."))
    return redirect("staff:plan_subscription", subscription.pk)


@require_GET
@staff_required("manage_programs")
def plan_setup(request):
    """Every plan, open ones first, with how many subscribers each serves now."""
    plans = Plan.objects.select_related("program").annotate(
        serving=Count("subscriptions", filter=Q(subscriptions__status__in=subscriptions.LIVE)),
    ).order_by("-is_active", "program__name", "price", "pk")
    return render(request, "staff/plans/setup.html", {"plans": plans})


def _edit_plan(request, plan):
    form = PlanForm(request.POST or None, instance=plan)
    if request.method == "POST" and form.is_valid():
        try:
            plan = subscriptions.save_plan(plan=form.save(commit=False), actor=request.user)
        except SubscriptionError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("Plan “%(name)s” saved.") % {"name": plan.name})
            return redirect("staff:plans_setup")
    return render(request, "staff/plans/edit.html", {"form": form, "plan": plan},
                  status=400 if form.errors else 200)


@staff_required("manage_programs")
def plan_new(request):
    return _edit_plan(request, Plan())


@staff_required("manage_programs")
def plan_edit(request, plan_id):
    return _edit_plan(request, get_object_or_404(Plan.objects.select_related("program"), pk=plan_id))
