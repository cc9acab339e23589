"""Spending, adjusting, expiring points, and changing how they are earned."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import get_text_list
from django.utils.translation import gettext as _

from loyalty_site.roles import perm
from loyalty_site.services import log_staff_action

from . import ledger, signals, tiers
from .models import EarningRule, LedgerEntry, PointsPayment, Redemption, Reward, Subscription
from .money import floor_money

# Crockford's base-32 alphabet: no I, L, O or U, so a code read aloud is not misheard.
CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
CODE_LENGTH = 12  # 12 characters × 5 bits = 60 random bits
CODE_LOOKALIKES = str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V", "-": None, " ": None})


# Bounds that keep every figure far inside the database's integers, whatever is typed.
MAX_ADJUSTMENT = 1_000_000
MAX_POINTS_PER_UNIT = 1000
MAX_POINTS_PER_VISIT = 10_000
CAUSE_KEY_LENGTH = LedgerEntry._meta.get_field("cause_key").max_length


class PointsError(ValidationError):
    """A move of points that cannot happen (too few points, a used code, …); nothing changed."""


def new_redemption_code():
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(text):
    """Read a code as a person types it: any case, with or without dashes, O for 0."""
    return str(text or "").upper().translate(CODE_LOOKALIKES)


def _too_few(available, needed):
    return PointsError({"points": _("The member has %(available)s points available; "
                                    "this needs %(needed)s.") % {"available": available, "needed": needed}})


def _lock_available_reward(reward, now):
    """Lock the reward row and check it can be given now. Lock it after the membership: every
    redemption takes them in that order."""
    reward = Reward.objects.select_for_update(of=("self",)).select_related("program").get(pk=reward.pk)
    if not (reward.is_active and reward.program.is_active) or (
        reward.valid_from and reward.valid_from > now
    ) or (
        reward.valid_until and reward.valid_until < now
    ):
        raise PointsError({"reward": _("This reward is not available now.")})
    if reward.stock is not None and reward.stock < 1:
        raise PointsError({"reward": _("This reward is out of stock.")})
    return reward


def plan_names(plans):
    """"VIP or VIP Plus": the plans a plan-only reward is for, as a member reads them."""
    return get_text_list([plan.name for plan in plans], _("or"))


def _check_plan(membership, reward, now):
    """A plan-only reward needs a subscription to one of its plans whose benefits apply now."""
    plans = list(reward.plans.all())
    if plans and not Subscription.objects.giving_benefits(now).filter(
            membership=membership, plan__in=plans).exists():
        raise PointsError({"reward": _("This reward is for %(plans)s members.")
                           % {"plans": plan_names(plans)}})


def _issue_code(membership, reward, *, points, now, cause_key=""):
    """Take one from the reward's stock and issue its single-use code."""
    if reward.stock is not None:
        Reward.objects.filter(pk=reward.pk).update(stock=F("stock") - 1)
    expires_at = now + timedelta(days=reward.code_valid_days)
    if reward.valid_until:
        expires_at = max(min(expires_at, reward.valid_until), now + timedelta(days=1))
    for _attempt in range(3):
        try:
            with transaction.atomic():
                return Redemption.objects.create(
                    membership=membership, reward=reward, code=new_redemption_code(),
                    points=points, created_at=now, expires_at=expires_at, cause_key=cause_key)
        except IntegrityError:
            continue  # 2^60 codes: a collision is all but impossible, and harmless to retry
    raise RuntimeError("Could not find a free redemption code in three tries.")


@transaction.atomic
def redeem_reward(*, member, reward, actor=None, now=None):
    """Spend points on a reward and issue its single-use code.

    Raises PointsError when the reward is not available (inactive, outside its dates, out of
    stock, for a higher tier than the member's, or for subscribers of plans the member has no
    live subscription to) or the member has too few points; nothing is written then.
    """
    now = now or timezone.now()
    membership = ledger.lock_memberships(member, [reward.program])[reward.program_id]
    reward = _lock_available_reward(reward, now)
    if not tiers.reaches(membership, reward.minimum_tier):
        raise PointsError({"reward": _("This reward is for %(tier)s members and above.")
                           % {"tier": reward.minimum_tier.display_name()}})
    _check_plan(membership, reward, now)
    if membership.available < reward.cost:
        raise _too_few(membership.available, reward.cost)
    redemption = _issue_code(membership, reward, points=reward.cost, now=now)
    ledger.debit(membership, reward.cost, LedgerEntry.Kind.REDEEM, now=now, redemption=redemption,
                 actor=actor)
    ledger.save_totals(membership)
    signals.reward_redeemed.send(sender=Redemption, redemption=redemption)
    return redemption


def _check_cause_key(cause_key):
    cause_key = str(cause_key or "").strip()
    if not cause_key or len(cause_key) > CAUSE_KEY_LENGTH:
        # A programming error, not bad input from a person: without a key nothing is idempotent.
        raise ValueError(f"cause_key must be 1 to {CAUSE_KEY_LENGTH} characters")
    return cause_key


@transaction.atomic
def grant_points(*, member, program, points, cause_key, reason="", kind=LedgerEntry.Kind.BONUS,
                 pending_days=0, counts_as_earned=True, actor=None, now=None):
    """Credit points that something other than a purchase earned: a referral, a survey answer,
    a birthday, an imported opening balance.

    `cause_key` names the cause ("referral:42:friend", "survey-invitation:7"); a membership gets
    points for a cause once only, which a unique constraint guarantees even for parallel calls.
    Returns (entry, created): a repeat returns the first entry and credits nothing. Points stay
    pending for `pending_days`. Raises PointsError for a number of points that is not a whole
    number from 1 to MAX_ADJUSTMENT.
    """
    now = now or timezone.now()
    cause_key = _check_cause_key(cause_key)
    if isinstance(points, bool) or not isinstance(points, int) or not 0 < points <= MAX_ADJUSTMENT:
        raise PointsError({"points": _("Enter a whole number of points from 1 to %(max)s.")
                           % {"max": MAX_ADJUSTMENT}})
    membership = ledger.lock_memberships(member, [program])[program.pk]
    # Under the lock, a first grant for this cause has committed already if there was one.
    existing = LedgerEntry.objects.filter(membership=membership, cause_key=cause_key).first()
    if existing is not None:
        return existing, False
    entry = ledger.credit(
        membership, points, kind, now=now, counts_as_earned=counts_as_earned,
        pending_until=now + timedelta(days=pending_days) if pending_days else None,
        cause_key=cause_key, reason=str(reason)[:300], actor=actor,
    )
    ledger.save_totals(membership)
    return entry, True


@transaction.atomic
def grant_reward(*, member, reward, cause_key, now=None):
    """Give a member a reward's code free of charge (a referral or birthday gift), once per
    cause. Returns (redemption, created). Raises PointsError when the reward is not available
    now or out of stock; nothing is written then."""
    now = now or timezone.now()
    cause_key = _check_cause_key(cause_key)
    membership = ledger.lock_memberships(member, [reward.program])[reward.program_id]
    existing = Redemption.objects.filter(membership=membership, cause_key=cause_key).first()
    if existing is not None:
        return existing, False
    reward = _lock_available_reward(reward, now)
    return _issue_code(membership, reward, points=0, now=now, cause_key=cause_key), True


@transaction.atomic
def use_redemption(*, code, store, actor=None, now=None):
    """Accept a code at the till, once. Raises PointsError for an unknown, used, cancelled or
    expired code, saying which (its code: unknown, used, cancelled, expired). A code accepted
    by a member of staff (`actor`) is written to the staff log."""
    now = now or timezone.now()
    # Only the code's row: locking its reward too would make every use of a reward wait for
    # every other, and for every redemption of it.
    redemption = (Redemption.objects.select_for_update(of=("self",)).select_related("reward")
                  .filter(code=normalise_code(code)).first())
    if redemption is None:
        raise PointsError({"code": ValidationError(_("There is no reward with this code."),
                                                   code="unknown")})
    if redemption.status == Redemption.Status.USED:
        raise PointsError({"code": ValidationError(
            _("This code was already used on %(date)s.")
            % {"date": timezone.localtime(redemption.used_at).strftime("%Y-%m-%d %H:%M")}, code="used")})
    if redemption.status == Redemption.Status.CANCELLED:
        raise PointsError({"code": ValidationError(_("This code was cancelled."), code="cancelled")})
    if redemption.expires_at < now:
        raise PointsError({"code": ValidationError(
            _("This code expired on %(date)s.")
            % {"date": timezone.localtime(redemption.expires_at).strftime("%Y-%m-%d")}, code="expired")})
    redemption.status = Redemption.Status.USED
    redemption.used_at = now
    redemption.used_store = store
    redemption.save(update_fields=["status", "used_at", "used_store"])
    if actor is not None:
        log_staff_action(actor=actor, action="programs.redemption.used",
                         data={"redemption": redemption.pk, "reward": redemption.reward.name,
                               "store": store.code})
    return redemption


@transaction.atomic
def cancel_redemption(*, redemption, actor=None, now=None):
    """Cancel a code that was not used: its points go back to the lots they came from, and the
    reward back in stock. Harmless on an already cancelled code; a used code raises PointsError."""
    now = now or timezone.now()
    membership = ledger.lock_memberships(redemption.membership.member,
                                         [redemption.membership.program])[redemption.membership.program_id]
    redemption = Redemption.objects.select_for_update().get(pk=redemption.pk)
    if redemption.status == Redemption.Status.CANCELLED:
        return redemption
    if redemption.status == Redemption.Status.USED:
        raise PointsError({"code": _("A used code cannot be cancelled.")})
    if redemption.points:  # a gift (grant_reward) cost nothing, so there is nothing to give back
        spent = redemption.ledger_entries.get(kind=LedgerEntry.Kind.REDEEM)
        ledger.restore(membership, spent, LedgerEntry.Kind.CANCEL, now=now, redemption=redemption,
                       actor=actor)
        ledger.save_totals(membership)
    Reward.objects.filter(pk=redemption.reward_id, stock__isnull=False).update(stock=F("stock") + 1)
    redemption.status = Redemption.Status.CANCELLED
    redemption.cancelled_at = now
    redemption.save(update_fields=["status", "cancelled_at"])
    if actor is not None:
        log_staff_action(actor=actor, action="programs.redemption.cancelled",
                         data={"redemption": redemption.pk, "points": redemption.points})
    return redemption


@transaction.atomic
def pay_with_points(*, member, program, points, store, actor=None, now=None):
    """Pay part of a purchase with points at the program's point value; the till chooses how
    many. Returns the payment with its money value, rounded down to the currency's minor unit
    (the shop never gives more than the points are worth). Raises PointsError."""
    now = now or timezone.now()
    if program.point_value is None:
        raise PointsError({"points": _("This program does not let members pay with points.")})
    if isinstance(points, bool) or not isinstance(points, int) or not 0 < points <= MAX_ADJUSTMENT:
        raise PointsError({"points": _("Enter a whole number of points above zero.")})
    membership = ledger.lock_memberships(member, [program])[program.pk]
    if membership.available < points:
        raise _too_few(membership.available, points)
    value = floor_money(points * program.point_value)
    payment = PointsPayment.objects.create(membership=membership, store=store, points=points,
                                           value=value, created_at=now)
    ledger.debit(membership, points, LedgerEntry.Kind.PAY, now=now, payment=payment, actor=actor)
    ledger.save_totals(membership)
    return payment


@transaction.atomic
def adjust_points(*, member, program, points, reason, actor, now=None):
    """Add or take away points by hand, with a reason, logged with who did it.

    Cashiers may move at most CASHIER_ADJUST_LIMIT points at a time; managers any number.
    Taking away more than the member has available is refused. Raises PermissionDenied or
    PointsError; nothing is written then.
    """
    now = now or timezone.now()
    if not actor.has_perm(perm("adjust_points")):
        raise PermissionDenied
    if isinstance(points, bool) or not isinstance(points, int) or points == 0:
        raise PointsError({"points": _("Enter a whole number of points other than zero.")})
    if not (reason or "").strip():
        raise PointsError({"reason": _("Say why, so that the next person understands.")})
    if abs(points) > MAX_ADJUSTMENT:
        raise PointsError({"points": _("At most %(max)s points at a time.") % {"max": MAX_ADJUSTMENT}})
    limit = settings.CASHIER_ADJUST_LIMIT
    if abs(points) > limit and not actor.has_perm(perm("adjust_points_unlimited")):
        raise PointsError({"points": _("Adjustments above %(limit)s points need a manager.")
                           % {"limit": limit}})
    membership = ledger.lock_memberships(member, [program])[program.pk]
    cause = {"actor": actor, "reason": reason.strip()[:300]}
    if points > 0:
        entry = ledger.credit(membership, points, LedgerEntry.Kind.ADJUST, now=now,
                              counts_as_earned=False, **cause)
    else:
        if membership.available < -points:
            raise _too_few(membership.available, -points)
        entry = ledger.debit(membership, -points, LedgerEntry.Kind.ADJUST, now=now, **cause)
    ledger.save_totals(membership)
    log_staff_action(actor=actor, action="programs.points.adjusted", reason=cause["reason"],
                     data={"member": member.number, "program": program.slug, "points": points,
                           "entry": entry.pk})
    return entry


def expire_points(*, now=None):
    """Expire every lot whose time has come, set-based. Returns (lots, points). Idempotent."""
    return ledger.expire_due_lots(now=now or timezone.now())


def release_pending_points(*, now=None):
    """Make pending points spendable once their return window has passed. Idempotent."""
    return ledger.release_due_lots(now=now or timezone.now())


@transaction.atomic
def change_earning_rule(*, program, actor, points_per_unit=0, points_per_visit=0,
                        minimum_amount=0, effective_from=None):
    """Start a new version of the program's earning rule; what was earned stays as it was.

    Raises ValidationError for a negative or absurd rate (more than 1,000 points per unit or
    10,000 per visit), so that no purchase can earn past what the ledger's integers hold.
    """
    if not (0 <= points_per_unit <= MAX_POINTS_PER_UNIT):
        raise ValidationError({"points_per_unit": _("Between 0 and %(max)s points per unit.")
                               % {"max": MAX_POINTS_PER_UNIT}})
    if not (0 <= points_per_visit <= MAX_POINTS_PER_VISIT):
        raise ValidationError({"points_per_visit": _("Between 0 and %(max)s points per visit.")
                               % {"max": MAX_POINTS_PER_VISIT}})
    last = EarningRule.objects.select_for_update().filter(program=program).order_by("-version").first()
    rule = EarningRule.objects.create(
        program=program, version=(last.version + 1) if last else 1,
        points_per_unit=points_per_unit, points_per_visit=points_per_visit,
        minimum_amount=minimum_amount, effective_from=effective_from or timezone.now(),
        created_by=actor,
    )
    if actor is not None:
        log_staff_action(actor=actor, action="programs.earning_rule.changed",
                         data={"program": program.slug, "version": rule.version,
                               "points_per_unit": str(points_per_unit),
                               "points_per_visit": points_per_visit})
    return rule
