"""Purchases and refunds: what the till and the web shop report, and the points they move."""

from datetime import timedelta
from decimal import ROUND_FLOOR, Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty_site.services import log_staff_action

from . import campaigns, config, ledger, offers, signals, subscriptions, tiers
from .business import shop_currency
from .models import LedgerEntry, PointLot, Program, Purchase, PurchaseItem, Refund
from .money import parse_amount

# A line's quantity fits the column: seven whole digits and three decimals.
MAX_QUANTITY = Decimal("10000000")


class PurchaseConflict(ValidationError):
    """The receipt number was used before for a different purchase or refund."""


def points_for(program, rule, amount, multiplier=1, parts=None):
    """Points a purchase earns under a rule, times the member's tier and plan `multiplier` and
    each basket part's campaign multiplier (`parts`, from campaigns.basket_parts; the order of
    combination is in docs/campaigns.md). Rounded down once, at the end: a point is earned only
    when whole, so a full refund always reverses exactly what was earned."""
    if rule is None or amount < rule.minimum_amount:
        return 0
    parts = parts or [campaigns.BasketPart("", amount, None)]
    if program.kind == Program.Kind.VISITS:
        base = rule.points_per_visit * max(part.multiplier for part in parts)
    else:
        base = sum(part.amount * part.multiplier for part in parts) * rule.points_per_unit
    return int((base * Decimal(multiplier)).to_integral_value(rounding=ROUND_FLOOR))


def preview_points(program, *, amount, lines, store, when, tier=None):
    """What a sample basket would earn in `program` on `when` for a member in `tier`: (points,
    the basket's parts with their campaigns). The same reckoning as a real purchase, but with
    nothing written; a paid plan's multiplier is left out."""
    snapshot = config.snapshot()
    rule = next((p.rule for p in snapshot.programs_with_rules_at(when) if p.pk == program.pk), None)
    parts = campaigns.basket_parts(amount, lines, snapshot.campaigns_in_force(
        program.pk, store=store, when=when, tier=tier))
    return points_for(program, rule, amount, tier.multiplier if tier else 1, parts), parts


def _read_amount(value, currency, field="amount", allow_zero=False):
    try:
        return parse_amount(value, currency, allow_zero=allow_zero)
    except ValidationError as error:
        raise ValidationError({field: error.messages}) from error


def _read_items(items, currency):
    lines = []
    for index, item in enumerate(items or []):
        try:
            quantity = Decimal(str(item.get("quantity", 1)))
        except ArithmeticError:
            quantity = Decimal(-1)
        if not quantity.is_finite() or quantity >= MAX_QUANTITY or (
                quantity != quantity.quantize(Decimal("0.001"))):
            quantity = Decimal(-1)
        if not item.get("sku") or quantity <= 0:
            raise ValidationError({"items": _("Line %(n)s needs a SKU and a quantity above zero.")
                                   % {"n": index + 1}})
        lines.append(PurchaseItem(
            sku=str(item["sku"])[:64], category=str(item.get("category", ""))[:64],
            quantity=quantity,
            unit_price=_read_amount(item.get("unit_price"), currency, "items", allow_zero=True),
        ))
    return lines


def _check_currency(currency):
    currency = (currency or shop_currency()).upper()
    if currency != shop_currency():
        raise ValidationError({"currency": _("This shop takes %(currency)s only.")
                               % {"currency": shop_currency()}})
    return currency


def record_purchase(*, store, member, external_id, amount, currency=None, occurred_at=None,
                    items=None, actor=None, referral_code="", now=None):
    """Record a purchase once per store and receipt number, and earn its points.

    Returns (purchase, created). The same purchase reported again returns the first one and
    earns nothing; the same receipt number with another amount or member raises
    PurchaseConflict. Points are earned in every active program under the earning rule in force
    when the purchase happened, pending for the program's return window; a new purchase carries
    them as `points_earned`, {program slug: points}. Raises ValidationError for a bad amount,
    a foreign currency or bad item lines, writing nothing.
    `actor` is the cashier when the till records it; the entries name them. A new purchase
    is announced with `signals.purchase_recorded`, with the referral code the cashier typed;
    the receivers' messages for the cashier are on the new purchase as `notices`.
    """
    now = now or timezone.now()
    currency = _check_currency(currency)
    amount = _read_amount(amount, currency)
    if not str(external_id or "").strip():
        raise ValidationError({"external_id": _("A receipt number is required.")})
    occurred_at = occurred_at or now
    if occurred_at > now + timedelta(minutes=5):
        raise ValidationError({"occurred_at": _("A purchase cannot happen in the future.")})
    lines = _read_items(items, currency)
    try:
        return _write_purchase(
            store=store, member=member, external_id=external_id, amount=amount, currency=currency,
            occurred_at=occurred_at, lines=lines, actor=actor, referral_code=referral_code, now=now)
    except IntegrityError:
        # The receipt was recorded between our look and our insert by a request that held no
        # lock we hold: for another member's card, or when no program is active. Its unique
        # constraint stopped us, and our transaction is rolled back.
        existing = Purchase.objects.filter(store=store, external_id=external_id).first()
        if existing is None:
            raise
        return _repeat(existing, member, amount), False


def _repeat(existing, member, amount):
    """The purchase recorded before under this receipt number, if it is this one."""
    if existing.member_id != member.pk or existing.amount != amount:
        raise PurchaseConflict({"external_id": _(
            "Receipt %(id)s was already recorded with another amount or member."
        ) % {"id": existing.external_id}})
    return existing


@transaction.atomic
def _write_purchase(*, store, member, external_id, amount, currency, occurred_at, lines, actor,
                    referral_code, now):
    snapshot = config.snapshot()
    programs = snapshot.programs_with_rules_at(occurred_at)
    memberships = ledger.lock_memberships(member, programs)
    # Under the lock, a repeat of this member's purchase has committed already, so looking is
    # enough; no savepoint is needed around the insert.
    existing = Purchase.objects.filter(store=store, external_id=external_id).order_by()[:1]
    if existing:
        return _repeat(existing[0], member, amount), False
    purchase = Purchase.objects.create(
        store=store, member=member, external_id=external_id, amount=amount,
        currency=currency, occurred_at=occurred_at, recorded_at=now,
    )
    if lines:
        for line in lines:
            line.purchase = purchase
        PurchaseItem.objects.bulk_create(lines)
    earned = {}
    for program in programs:
        membership = memberships[program.pk]
        program_tiers = snapshot.tiers.get(program.pk, [])
        if membership.tier_id:
            membership.tier = next(t for t in program_tiers if t.pk == membership.tier_id)
        # The snapshot says when no offer or plan can apply: most purchases need not look.
        grants = (offers.usable_grants(member, program, occurred_at)
                  if snapshot.offers_possible(program.pk, occurred_at) else [])
        plan_multiplier = (subscriptions.plan_multiplier(membership, occurred_at)
                           if program.pk in snapshot.programs_with_plans else 1)
        parts = campaigns.basket_parts(amount, lines, snapshot.campaigns_in_force(
            program.pk, store=store, when=occurred_at, tier=membership.tier)
            + [grant.offer for grant in grants])
        points = points_for(program, program.rule, amount,
                            tiers.earning_multiplier(membership) * plan_multiplier, parts)
        if points > 0:
            pending_until = now + timedelta(days=program.pending_days) if program.pending_days else None
            ledger.credit(membership, points, LedgerEntry.Kind.EARN, now=now,
                          pending_until=pending_until, purchase=purchase, rule=program.rule,
                          actor=actor, reason=" · ".join(filter(None, (
                              tiers.earning_note(membership), campaigns.campaign_note(parts)))))
            ledger.save_totals(membership)
            earned[program.slug] = points
            offers.use_grants(grants, parts, purchase, now)
        tiers.upgrade_if_qualified(membership, program_tiers, now)
    purchase.points_earned = dict(sorted(earned.items()))
    responses = signals.purchase_recorded.send(
        sender=Purchase, purchase=purchase, actor=actor,
        referral_code=(referral_code or "").strip(), config=snapshot)
    # A receiver may answer with a message for the cashier (a referral code not accepted, say);
    # the till shows them beside its own.
    purchase.notices = [response for _receiver, response in responses if isinstance(response, str)]
    return purchase, True


@transaction.atomic
def refund_purchase(*, purchase, external_id, amount, actor=None, now=None):
    """Refund (part of) a purchase and reverse, in proportion, the points it actually earned.

    Returns (refund, created); a repeat with the same refund number returns the first refund.
    The points taken back come from the purchase's own lots first, then from other points; if
    the member has already spent them, the balance goes below zero and the next points earned
    pay it back. Raises ValidationError when the refunds would exceed what was paid. A refund
    by a member of staff (`actor`) is written to the staff log.
    """
    now = now or timezone.now()
    amount = _read_amount(amount, purchase.currency)
    if not str(external_id or "").strip():
        raise ValidationError({"external_id": _("A refund number is required.")})
    programs = list(Program.objects.filter(
        memberships__member=purchase.member_id).order_by("pk").distinct())
    memberships = ledger.lock_memberships(purchase.member, programs)
    # Also lock the purchase: a member with no membership would otherwise leave two parallel
    # refunds of it unserialised.
    purchase = Purchase.objects.select_for_update().get(pk=purchase.pk)

    existing = Refund.objects.filter(purchase=purchase, external_id=external_id).first()
    if existing is not None:
        if existing.amount != amount:
            raise PurchaseConflict({"external_id": _(
                "Refund %(id)s was already recorded with another amount.") % {"id": external_id}})
        return existing, False
    refunded = purchase.refunds.aggregate(total=Sum("amount"))["total"] or Decimal(0)
    if refunded + amount > purchase.amount:
        raise ValidationError({"amount": _(
            "Only %(left)s of this purchase is left to refund.") % {"left": purchase.amount - refunded}})
    refund = Refund.objects.create(purchase=purchase, external_id=external_id, amount=amount,
                                   recorded_at=now)
    refunded_in_all = refunded + amount
    for membership in memberships.values():
        entries = LedgerEntry.objects.filter(membership=membership, purchase=purchase)
        earned = entries.filter(kind=LedgerEntry.Kind.EARN).aggregate(p=Sum("points"))["p"] or 0
        if not earned:
            continue
        reversed_before = -(LedgerEntry.objects.filter(
            membership=membership, refund__purchase=purchase, kind=LedgerEntry.Kind.REVERSE,
        ).aggregate(p=Sum("points"))["p"] or 0)
        # Multiply before dividing: earned × refunded ÷ paid is exact whenever it is whole.
        target = int((earned * refunded_in_all / purchase.amount).to_integral_value(rounding=ROUND_FLOOR))
        to_reverse = target - reversed_before
        if to_reverse <= 0:
            continue
        own_lots = PointLot.objects.filter(membership=membership, purchase=purchase,
                                           remaining__gt=0).order_by("pk")
        other_pending = PointLot.objects.filter(membership=membership, remaining__gt=0,
                                                is_pending=True).order_by("pk")
        ledger.debit(membership, to_reverse, LedgerEntry.Kind.REVERSE, now=now, may_owe=True,
                     sources=[own_lots, ledger.spendable_lots(membership), other_pending],
                     purchase=purchase, refund=refund, actor=actor)
        ledger.save_totals(membership)
    signals.purchase_refunded.send(sender=Refund, refund=refund, actor=actor)
    if actor is not None:
        log_staff_action(actor=actor, action="programs.purchase.refunded",
                         data={"purchase": purchase.external_id, "store": purchase.store_id,
                               "refund": external_id, "amount": str(amount)})
    return refund, True
