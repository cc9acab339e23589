"""Paid memberships: plans, the subscription state machine, payments, benefits and figures.

Every status change goes through `_move`, which refuses a move the state machine does not allow
and writes a SubscriptionEvent with its cause. The rules in the shop's words are in docs/plans.md:

    (new)     → trialing, active
    trialing  → active (paid), past_due (trial ended unpaid), cancelled (cancelled)
    active    → active (renewed), past_due (period ended unpaid), cancelled (cancelled)
    past_due  → active (paid within the grace period), lapsed (grace over, or cancelled)
    cancelled → active (paid again), lapsed (period ended)
    lapsed    → nothing: joining again starts a new subscription
    and any live status → lapsed when the member closes their account

Services write in one transaction each and lock the subscription row first, so a till payment,
a webhook and the hourly task never move the same subscription at once.
"""

from datetime import timedelta
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from loyalty_site.models import EmailCategory
from loyalty_site.services import absolute_url, log_staff_action, queue_email

from . import ledger
from .business import shop_currency
from .models import Member, Membership, Plan, Subscription, SubscriptionEvent, SubscriptionPayment
from .money import format_money, parse_amount, round_money
from .points import grant_points

Status = Subscription.Status
Method = SubscriptionPayment.Method

# Trialing and active go to lapsed only when the member closes their account.
TRANSITIONS = {
    None: {Status.TRIALING, Status.ACTIVE},
    Status.TRIALING: {Status.ACTIVE, Status.PAST_DUE, Status.CANCELLED, Status.LAPSED},
    Status.ACTIVE: {Status.ACTIVE, Status.PAST_DUE, Status.CANCELLED, Status.LAPSED},
    Status.PAST_DUE: {Status.ACTIVE, Status.LAPSED},
    Status.CANCELLED: {Status.ACTIVE, Status.LAPSED},
    Status.LAPSED: set(),
}
# Subscriptions that still give their plan's benefits (past due: during the grace period).
LIVE = (Status.TRIALING, Status.ACTIVE, Status.PAST_DUE, Status.CANCELLED)
# A renewal may be paid this many days before the period ends; the reminder goes out then too.
RENEWAL_DAYS = 7
# Bounds for what staff type on the plan editor.
MAX_TRIAL_DAYS = 365
MAX_GRACE_DAYS = 60


class SubscriptionError(ValidationError):
    """A subscription request that breaks a rule; its message is for the person who asked."""


def period_length(plan):
    return relativedelta(months=1) if plan.period == Plan.Period.MONTH else relativedelta(years=1)


def _move(subscription, to, cause, *, actor=None, now):
    """Change the status if the state machine allows it, and write down why."""
    before = subscription.status or None
    if to not in TRANSITIONS[before]:
        raise SubscriptionError(_("A subscription cannot go from %(before)s to %(after)s.") % {
            "before": before, "after": to})
    subscription.status = to
    if to == Status.LAPSED:
        subscription.ended_at = now
    SubscriptionEvent.objects.create(subscription=subscription, from_status=before or "",
                                     to_status=to, cause=str(cause)[:200], actor=actor, created_at=now)


def lock_subscription(subscription):
    """Lock the membership, then the subscription: purchases and grants lock the membership
    first too, so no two transactions ever wait for each other in a circle."""
    list(Membership.objects.select_for_update().filter(pk=subscription.membership_id).values_list("pk"))
    return Subscription.objects.select_for_update(of=("self",)).select_related(
        "plan", "next_plan", "membership__member__user", "membership__program").get(pk=subscription.pk)


def live_subscription(membership):
    """The membership's subscription that is not over, or None."""
    return Subscription.objects.filter(membership=membership, status__in=LIVE).select_related(
        "plan", "next_plan").first()


def _new_subscription(membership, plan, *, status, period_end, cause, actor, now, stripe_id=""):
    if not plan.is_active:
        raise SubscriptionError(_("%(plan)s takes no new subscribers.") % {"plan": plan.name})
    subscription = Subscription(membership=membership, plan=plan, period_start=now,
                                period_end=period_end, started_at=now,
                                stripe_subscription_id=stripe_id)
    # Check the move from nothing; the event is written once the row has an id.
    if status not in TRANSITIONS[None]:
        raise SubscriptionError(_("A subscription cannot start as %(status)s.") % {"status": status})
    subscription.status = status
    try:
        # A savepoint: the caller's transaction goes on to say what went wrong.
        with transaction.atomic():
            subscription.save()
    except IntegrityError:
        raise SubscriptionError(
            _("This member already has a subscription to %(program)s.")
            % {"program": membership.program.name}) from None
    SubscriptionEvent.objects.create(subscription=subscription, to_status=status,
                                     cause=str(cause)[:200], actor=actor, created_at=now)
    return subscription


def _membership(member, plan):
    membership = ledger.lock_memberships(member, [plan.program])[plan.program_id]
    # A closed card takes no payment and no trial: a late Stripe invoice must not revive it.
    if Member.objects.filter(pk=member.pk, closed_at__isnull=False).exists():
        raise SubscriptionError(_("This member card is closed."))
    return membership


@transaction.atomic
def start_trial(*, member, plan, actor=None, now=None):
    """Start the plan's free trial: its benefits now, the first payment when the trial ends.
    A trial is for new subscribers: a membership that subscribed before gets none."""
    now = now or timezone.now()
    if not plan.trial_days:
        raise SubscriptionError(_("%(plan)s has no free trial.") % {"plan": plan.name})
    membership = _membership(member, plan)
    if Subscription.objects.filter(membership=membership).exclude(status__in=LIVE).exists():
        raise SubscriptionError(_("The free trial is for new subscribers only."))
    return _new_subscription(membership, plan, status=Status.TRIALING,
                             period_end=now + timedelta(days=plan.trial_days),
                             cause=_("Free trial started"), actor=actor, now=now)


@transaction.atomic
def save_plan(*, plan, actor):
    """Create or change a plan as a manager set it up (docs/plans.md, "Setting up and changing a plan").

    A new price or period applies from each subscriber's next payment: what is paid stays paid.
    Benefits and perks apply at once; the trial to trials started from now; retiring closes the
    plan to new subscribers and keeps those it has. Refuses (SubscriptionError, nothing saved)
    a new price or period while members pay for the plan online: Stripe would go on charging
    what it was given at Checkout and every renewal would be refused.
    """
    before = Plan.objects.select_for_update().filter(pk=plan.pk).first() if plan.pk else None
    if before is not None and (before.price, before.period) != (plan.price, plan.period):
        online = Subscription.objects.filter(
            Q(plan=plan) | Q(next_plan=plan), status__in=LIVE).exclude(stripe_subscription_id="")
        if online.exists():
            raise SubscriptionError(
                _("Members pay for %(plan)s online, and Stripe would go on charging them the old "
                  "price. Keep its price and period; to charge more, retire it and set up a new "
                  "plan.") % {"plan": before.name})
    plan.save()
    log_staff_action(
        actor=actor, action="programs.plan.changed" if before else "programs.plan.created",
        data={"plan": plan.pk, "name": plan.name, "price": str(plan.price), "period": plan.period,
              "open": plan.is_active,
              **({"price_before": str(before.price)} if before and before.price != plan.price else {})})
    return plan


def _due_plan(subscription):
    return subscription.next_plan or subscription.plan


def _check_amount(plan, amount, currency):
    """The amount as a Decimal if it is exactly the plan's price in the shop's currency."""
    currency = (currency or "").upper()
    if currency != shop_currency():
        raise SubscriptionError(
            _("Payments are taken in %(shop)s, not %(currency)s.")
            % {"shop": shop_currency(), "currency": currency or "?"})
    try:
        amount = parse_amount(amount, currency)
    except ValidationError as error:
        raise SubscriptionError(error.messages) from error
    if amount != plan.price:
        raise SubscriptionError(
            _("%(plan)s costs %(price)s; %(amount)s is not the right amount.")
            % {"plan": plan.name, "price": format_money(plan.price), "amount": format_money(amount)})
    return amount


def _paid_period(subscription, plan, now):
    """The period a payment made now pays for, or SubscriptionError when none is due yet."""
    if subscription.status == Status.TRIALING:
        # Paying ends the trial: the first paid period starts now (docs/plans.md).
        start = now
    elif subscription.status == Status.PAST_DUE:
        # The overdue period started on the due date; the grace period is not free.
        start = subscription.period_end
    elif subscription.status in (Status.ACTIVE, Status.CANCELLED):
        opens = subscription.period_end - timedelta(days=RENEWAL_DAYS)
        if now < opens:
            raise SubscriptionError(
                _("Already paid until %(end)s; the next payment can be taken from %(opens)s.")
                % {"end": date_format(timezone.localtime(subscription.period_end)),
                   "opens": date_format(timezone.localtime(opens))})
        start = subscription.period_end
    else:
        raise SubscriptionError(_("This subscription has ended; join again to start a new one."))
    return start, start + period_length(plan)


def _save_payment(subscription, *, plan, method, amount, currency, period, reference="", reason="",
                  actor=None, now):
    """Write the receipt, move the subscription's period on, and credit the period's bonus if
    the period has begun (a renewal paid ahead gets it from the hourly task when it begins)."""
    start, end = period
    payment = SubscriptionPayment(
        subscription=subscription, plan=plan, method=method, amount=amount, currency=currency,
        period_start=start, period_end=end, reference=str(reference or "")[:200],
        reason=str(reason or "")[:300], actor=actor, created_at=now)
    try:
        with transaction.atomic():
            payment.save()
    except IntegrityError:
        raise SubscriptionError(_("This period has been paid already.")) from None
    subscription.plan = plan
    subscription.next_plan = None
    subscription.period_start, subscription.period_end = start, end
    subscription.grace_until = None
    subscription.save()
    if start <= now:
        credit_period_bonus(payment, now=now)
    return payment


def _pay(subscription, *, plan, method, amount, currency, reference="", reason="", actor=None, now,
         period=None):
    """Pay the subscription's due period: it becomes (or stays) active."""
    period = period or _paid_period(subscription, plan, now)
    label = Method(method).label
    if method == Method.COMP:
        cause = _("Period given free: %(reason)s") % {"reason": reason}
    elif subscription.status == Status.CANCELLED:
        cause = _("Paid again (%(method)s): the cancellation is withdrawn") % {"method": label}
    else:
        cause = _("Paid %(amount)s (%(method)s) until %(end)s") % {
            "amount": format_money(amount), "method": label,
            "end": date_format(timezone.localtime(period[1]))}
    _move(subscription, Status.ACTIVE, cause, actor=actor, now=now)
    return _save_payment(subscription, plan=plan, method=method, amount=amount, currency=currency,
                         period=period, reference=reference, reason=reason, actor=actor, now=now)


@transaction.atomic
def record_subscription_payment(*, member, plan, amount, currency=None, method, reference="",
                                actor=None, now=None, period=None, stripe_subscription_id=""):
    """Take a payment for the member's subscription in `plan`'s program, joining `plan` if they
    have none. A renewal pays the plan due (the current one, or the one chosen for the next
    period), whatever `plan` says. Refuses, changing nothing, an amount that is not exactly the
    price, another currency, or a payment when none is due yet. Returns the payment.

    `period` (start, end) is the period Stripe says an online payment covers.
    """
    now = now or timezone.now()
    if method not in (Method.CASH, Method.CARD, Method.STRIPE):
        raise SubscriptionError(_("Choose how the member paid."))
    currency = (currency or shop_currency()).upper()
    membership = _membership(member, plan)
    subscription = live_subscription(membership)
    if subscription is not None:
        subscription = lock_subscription(subscription)
        due = _due_plan(subscription)
        amount = _check_amount(due, amount, currency)
        return _pay(subscription, plan=due, method=method, amount=amount, currency=currency,
                    reference=reference, actor=actor, now=now, period=period)
    amount = _check_amount(plan, amount, currency)
    period = period or (now, now + period_length(plan))
    subscription = _new_subscription(
        membership, plan, status=Status.ACTIVE, period_end=period[1], actor=actor, now=now,
        cause=_("Joined, paid %(amount)s (%(method)s)") % {
            "amount": format_money(amount), "method": Method(method).label},
        stripe_id=stripe_subscription_id)
    return _save_payment(subscription, plan=plan, method=method, amount=amount, currency=currency,
                         period=period, reference=reference, actor=actor, now=now)


@transaction.atomic
def comp_period(*, subscription, reason, actor, now=None):
    """A manager gives the due period free, with the reason written on the receipt."""
    now = now or timezone.now()
    reason = str(reason or "").strip()
    if not reason:
        raise SubscriptionError(_("Say why this period is given free."))
    subscription = lock_subscription(subscription)
    return _pay(subscription, plan=_due_plan(subscription), method=Method.COMP, amount=Decimal(0),
                currency=shop_currency(), reason=reason, actor=actor, now=now)


@transaction.atomic
def cancel_subscription(*, subscription, actor=None, now=None, cause=None):
    """Cancel at the end of the paid period (or the trial); benefits go on until then. An
    overdue subscription ends at once: nothing was paid for the time since it fell due.

    Returns (subscription, message): a second cancellation changes nothing and says so.
    """
    now = now or timezone.now()
    subscription = lock_subscription(subscription)
    end = date_format(timezone.localtime(subscription.period_end))
    if subscription.status == Status.CANCELLED:
        return subscription, _("Already cancelled: it ends on %(end)s.") % {"end": end}
    if subscription.status == Status.LAPSED:
        return subscription, _("This subscription has already ended.")
    if subscription.status == Status.PAST_DUE:
        _move(subscription, Status.LAPSED, cause or _("Cancelled while the payment was overdue"),
              actor=actor, now=now)
        subscription.save()
        return subscription, _("Cancelled: the subscription has ended.")
    _move(subscription, Status.CANCELLED, cause or _("Cancelled"), actor=actor, now=now)
    subscription.next_plan = None
    subscription.save()
    return subscription, _("Cancelled: your benefits go on until %(end)s.") % {"end": end}


@transaction.atomic
def end_for_closed_account(*, member, now=None):
    """The member closes their account: each live subscription ends now (lapsed), so nothing
    more is charged or credited; what was paid is not refunded (docs/plans.md). An online one is
    first cancelled at Stripe, at once. When Stripe cannot be reached this raises
    SubscriptionError and the caller's transaction changes nothing: closing the account while
    Stripe went on charging the card would be worse than trying again. Returns those ended."""
    # Imported here: stripe_payments builds on this module.
    from .stripe_payments import online_payments_enabled, stop_online_now

    now = now or timezone.now()
    ended = []
    for subscription in Subscription.objects.filter(membership__member=member, status__in=LIVE):
        subscription = lock_subscription(subscription)
        if subscription.stripe_subscription_id:
            if not online_payments_enabled():
                raise SubscriptionError(_(
                    "Your online subscription cannot be stopped while the shop has online payment "
                    "switched off. Please ask the shop to cancel it, then close your account."))
            stop_online_now(subscription)
        _move(subscription, Status.LAPSED, _("Account closed by the member"), now=now)
        subscription.next_plan = None
        subscription.save()
        ended.append(subscription)
    return ended


@transaction.atomic
def change_plan(*, subscription, plan, actor=None, now=None):
    """Choose another plan of the same program for the next period (docs/plans.md: a change,
    up or down, takes effect at the next renewal). Choosing the current plan undoes a change."""
    now = now or timezone.now()
    subscription = lock_subscription(subscription)
    if plan.program_id != subscription.plan.program_id:
        raise SubscriptionError(_("Choose a plan of the same program."))
    if subscription.status not in (Status.TRIALING, Status.ACTIVE, Status.PAST_DUE):
        raise SubscriptionError(_("A cancelled or ended subscription cannot change plan."))
    if plan.pk == subscription.plan_id:
        next_plan = None
    elif not plan.is_active:
        raise SubscriptionError(_("%(plan)s takes no new subscribers.") % {"plan": plan.name})
    else:
        next_plan = plan
    if subscription.stripe_subscription_id and next_plan != subscription.next_plan:
        # Imported here: stripe_payments builds on this module.
        from .stripe_payments import charge_next_period_for

        # Stripe charges the renewal: told first, so that a failure changes nothing here.
        charge_next_period_for(subscription, next_plan or subscription.plan)
    subscription.next_plan = next_plan
    subscription.save(update_fields=["next_plan"])
    SubscriptionEvent.objects.create(
        subscription=subscription, from_status=subscription.status, to_status=subscription.status,
        cause=(_("Changes to %(plan)s at the next renewal") % {"plan": plan.name})[:200],
        actor=actor, created_at=now)
    return subscription


# --- Benefits ---------------------------------------------------------------------------------


def plan_multiplier(membership, at):
    """The earning multiplier of the member's plan in the program whose benefits apply at
    `at`, the purchase's time (1 without one): a subscription started after it gives nothing."""
    multiplier = Subscription.objects.giving_benefits(at).filter(
        membership=membership, started_at__lte=at,
    ).values_list("plan__multiplier", flat=True).first()
    return multiplier or Decimal(1)


def bonus_cause_key(payment):
    return f"plan-period:{payment.subscription_id}:{payment.period_start:%Y-%m-%d}"


def credit_period_bonus(payment, *, now=None):
    """Credit the plan's bonus points for a paid period, once: the ledger's cause key makes a
    second credit for the same period impossible, whoever calls."""
    now = now or timezone.now()
    membership = payment.subscription.membership
    if payment.plan.bonus_points:
        grant_points(member=membership.member, program=membership.program,
                     points=payment.plan.bonus_points, cause_key=bonus_cause_key(payment),
                     reason=f"{payment.plan.name} {payment.period_start:%Y-%m-%d}", now=now)
    SubscriptionPayment.objects.filter(pk=payment.pk).update(bonus_credited_at=now)


# --- The hourly work (programs.tasks); each step is idempotent --------------------------------


def credit_due_bonuses(now=None):
    """Credit the bonus of every paid period that has begun and has not had it yet."""
    now = now or timezone.now()
    credited = 0
    # A period paid ahead that the subscription ended before (the account closed) earns nothing.
    due = SubscriptionPayment.objects.filter(
        Q(subscription__ended_at__isnull=True) | Q(subscription__ended_at__gt=F("period_start")),
        bonus_credited_at__isnull=True, period_start__lte=now)
    for payment in due.select_related("plan", "subscription__membership__member",
                                      "subscription__membership__program"):
        with transaction.atomic():
            credit_period_bonus(payment, now=now)
        credited += 1
    return credited


def _move_due(subscription, now):
    """The move time makes due for the subscription, as (status, cause), or None."""
    if subscription.status == Status.CANCELLED and subscription.period_end <= now:
        return Status.LAPSED, _("Cancelled; the period ended")
    if subscription.status == Status.PAST_DUE and subscription.grace_until <= now:
        return Status.LAPSED, _("Not paid within the grace period")
    if subscription.status in (Status.TRIALING, Status.ACTIVE) and subscription.period_end <= now:
        subscription.grace_until = subscription.period_end + timedelta(days=subscription.plan.grace_days)
        if subscription.status == Status.TRIALING:
            return Status.PAST_DUE, _("The free trial ended unpaid")
        return Status.PAST_DUE, _("The period ended unpaid")
    return None


def advance_subscriptions(now=None):
    """Move what time has moved: unpaid trials and periods to past due, past due beyond the
    grace period and cancelled ones at their period's end to lapsed."""
    now = now or timezone.now()
    moved = {Status.PAST_DUE: 0, Status.LAPSED: 0}
    due = Subscription.objects.filter(
        Q(status__in=[Status.TRIALING, Status.ACTIVE, Status.CANCELLED], period_end__lte=now)
        | Q(status=Status.PAST_DUE, grace_until__lte=now))
    for pk in due.values_list("pk", flat=True):
        with transaction.atomic():
            subscription = Subscription.objects.select_for_update(of=("self",)).select_related(
                "plan").get(pk=pk)
            # Decided under the lock (a payment may have moved it since the query), and as far
            # as time allows: a run after a long pause goes on from past due to lapsed at once.
            while (move := _move_due(subscription, now)) is not None:
                _move(subscription, *move, now=now)
                moved[move[0]] += 1
            subscription.save()
    return moved


def send_renewal_reminders(now=None):
    """Email members whose trial or period ends within RENEWAL_DAYS and who have not paid the
    next one: once per period (reminders category, so members may turn them off)."""
    now = now or timezone.now()
    due = Subscription.objects.filter(
        status__in=[Status.TRIALING, Status.ACTIVE], period_end__gt=now,
        period_end__lte=now + timedelta(days=RENEWAL_DAYS),
    ).exclude(reminded_for=F("period_end")).select_related(
        "plan", "next_plan", "membership__member__user", "membership__program")
    queued = 0
    for subscription in due:
        user = subscription.membership.member.user
        kind = "trial" if subscription.status == Status.TRIALING else "period"
        with transaction.atomic():
            email = queue_email(
                to=user.email, user=user, template=f"plan_renewal_due_{kind}",
                category=EmailCategory.REMINDERS,
                dedupe_key=f"plan-renewal:{subscription.pk}:{subscription.period_end:%Y-%m-%d}",
                context={"subscription": subscription, "plan": _due_plan(subscription),
                         "online": bool(subscription.stripe_subscription_id),
                         "plans_url": absolute_url(reverse("portal:plans"))})
            Subscription.objects.filter(pk=subscription.pk).update(reminded_for=subscription.period_end)
        queued += email is not None
    return queued


# --- Reads ------------------------------------------------------------------------------------


def open_plans(program=None):
    """Plans a member may join, cheapest first."""
    plans = Plan.objects.filter(is_active=True, program__is_active=True).select_related("program")
    return plans.filter(program=program) if program else plans


def member_subscriptions(member):
    """The member's subscriptions, live ones first, with plans and programs."""
    return list(Subscription.objects.filter(membership__member=member).select_related(
        "plan", "next_plan", "membership__program").order_by("ended_at", "-started_at"))


def subscribers(status=None):
    """Subscriptions for the staff list, filtered by status, soonest next payment first."""
    subscriptions = Subscription.objects.select_related(
        "plan", "membership__member__user", "membership__program").order_by("period_end", "pk")
    return subscriptions.filter(status=status) if status else subscriptions


def _monthly(payment_plan_period, amount):
    return amount if payment_plan_period == Plan.Period.MONTH else amount / 12


def subscription_figures(period_start, period_end, subscriptions=None):
    """Figures for the dashboard over [period_start, period_end), of every subscription or of
    those in the queryset `subscriptions` (the dashboard's program, tier and segment):

    - mrr: monthly recurring revenue at period_end: what the periods paid (not given free)
      that cover that moment bring in a month (a yearly price counts one twelfth);
    - active_subscribers: subscriptions with a paid or given period covering period_end;
    - churn_rate: of those covered at period_start (subscribers_at_start), the share that
      lapsed before period_end (None with no subscribers at the start);
    - revenue: money taken in the period.
    Built on receipts and the transition log, so a past period's figures do not change later.
    """
    return subscription_figures_many([(period_start, period_end)], subscriptions)[0]


def subscription_figures_many(windows, subscriptions=None):
    """subscription_figures() for each (start, end) of `windows`, in two queries for them all."""
    since, until = min(start for start, _end in windows), max(end for _start, end in windows)
    payments = SubscriptionPayment.objects.filter(
        Q(period_start__lte=until, period_end__gt=since) | Q(created_at__gte=since, created_at__lt=until))
    lapses = SubscriptionEvent.objects.filter(to_status=Status.LAPSED, created_at__gte=since,
                                              created_at__lt=until)
    if subscriptions is not None:
        payments = payments.filter(subscription__in=subscriptions)
        lapses = lapses.filter(subscription__in=subscriptions)
    payments = list(payments.values_list("subscription_id", "plan__period", "amount", "period_start",
                                         "period_end", "created_at"))
    lapses = list(lapses.values_list("subscription_id", "created_at"))

    def figures(start, end):
        at_end = [row for row in payments if row[3] <= end < row[4]]
        at_start = {row[0] for row in payments if row[3] <= start < row[4]}
        lapsed = {pk for pk, at in lapses if pk in at_start and start <= at < end}
        mrr = sum((_monthly(period, amount) for _id, period, amount, *_ in at_end), Decimal(0))
        return {
            "mrr": round_money(mrr),
            "active_subscribers": len({row[0] for row in at_end}),
            "subscribers_at_start": len(at_start),
            "churn_rate": Decimal(len(lapsed)) / len(at_start) if at_start else None,
            "revenue": sum((row[2] for row in payments if start <= row[5] < end), Decimal(0)),
            "currency": shop_currency(),
        }

    return [figures(start, end) for start, end in windows]


def member_receipts(member):
    return list(SubscriptionPayment.objects.filter(subscription__membership__member=member)
                .select_related("plan").order_by("-period_start", "-pk")[:50])
