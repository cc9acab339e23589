"""A member's own data from the programs core, for them to download (their right of access).

Every section is a list of rows, each a dict of plain JSON values, so that the same data makes
the JSON download and the CSV files (loyalty_site.personal_data). Other apps add their sections
through `signals.collect_member_data`. A fixed number of queries whatever the history's length.
"""

from django.utils import timezone

from . import signals
from .models import (
    LedgerEntry,
    Member,
    Membership,
    PointsPayment,
    Purchase,
    PurchaseItem,
    Redemption,
    Refund,
    Subscription,
    SubscriptionEvent,
    SubscriptionPayment,
)


def iso(moment):
    """A time as ISO 8601 in the shop's time zone, or None."""
    return timezone.localtime(moment).isoformat() if moment else None


def _card(member):
    return [{
        "number": member.number,
        "joined_at": iso(member.joined_at),
        "joined_store": member.joined_store.name if member.joined_store else None,
    }]


def _memberships(member):
    return [{
        "program": m.program.name,
        "balance": m.balance,
        "pending": m.pending,
        "available": m.available,
        "points_owed": m.points_owed,
        "lifetime_earned": m.lifetime_earned,
        "joined_at": iso(m.joined_at),
        "last_activity_at": iso(m.last_activity_at),
    } for m in Membership.objects.filter(member=member).select_related("program").order_by("pk")]


def _ledger(member):
    entries = (LedgerEntry.objects.filter(membership__member=member).order_by("created_at", "pk")
               .values_list("created_at", "membership__program__name", "kind", "points",
                            "balance_after", "reason", "purchase__external_id",
                            "redemption__code"))
    kinds = dict(LedgerEntry.Kind.choices)
    return [{
        "created_at": iso(created), "program": program, "kind": kind,
        "kind_name": str(kinds.get(kind, kind)), "points": points, "balance_after": after,
        "reason": reason, "receipt": receipt, "reward_code": code,
    } for created, program, kind, points, after, reason, receipt, code in entries]


def _purchases(member):
    purchases = Purchase.objects.filter(member=member).select_related("store").order_by("occurred_at", "pk")
    return [{
        "store": p.store.name, "receipt": p.external_id, "amount": str(p.amount),
        "currency": p.currency, "occurred_at": iso(p.occurred_at),
    } for p in purchases]


def _purchase_lines(member):
    items = (PurchaseItem.objects.filter(purchase__member=member)
             .order_by("purchase__occurred_at", "pk")
             .values_list("purchase__external_id", "sku", "category", "quantity", "unit_price"))
    return [{"receipt": receipt, "sku": sku, "category": category, "quantity": str(quantity),
             "unit_price": str(price)} for receipt, sku, category, quantity, price in items]


def _refunds(member):
    refunds = (Refund.objects.filter(purchase__member=member).order_by("recorded_at", "pk")
               .values_list("purchase__external_id", "external_id", "amount", "recorded_at"))
    return [{"receipt": receipt, "refund": refund, "amount": str(amount), "recorded_at": iso(at)}
            for receipt, refund, amount, at in refunds]


def _redemptions(member):
    redemptions = (Redemption.objects.filter(membership__member=member)
                   .select_related("reward", "used_store").order_by("created_at", "pk"))
    return [{
        "reward": r.reward.name, "code": r.display_code, "points": r.points, "status": r.status,
        "created_at": iso(r.created_at), "expires_at": iso(r.expires_at),
        "used_at": iso(r.used_at), "used_store": r.used_store.name if r.used_store else None,
        "cancelled_at": iso(r.cancelled_at),
    } for r in redemptions]


def _payments(member):
    payments = (PointsPayment.objects.filter(membership__member=member).order_by("created_at", "pk")
                .values_list("created_at", "store__name", "points", "value"))
    return [{"created_at": iso(at), "store": store, "points": points, "value": str(value)}
            for at, store, points, value in payments]


def _subscriptions(member):
    subscriptions = (Subscription.objects.filter(membership__member=member)
                     .select_related("plan", "next_plan", "membership__program")
                     .order_by("started_at", "pk"))
    return [{
        "program": s.membership.program.name, "plan": s.plan.name, "status": s.status,
        "status_name": str(s.get_status_display()), "started_at": iso(s.started_at),
        "paid_until": iso(s.period_end), "grace_until": iso(s.grace_until),
        "next_plan": s.next_plan.name if s.next_plan else None,
        "paid_online": bool(s.stripe_subscription_id), "ended_at": iso(s.ended_at),
    } for s in subscriptions]


def _subscription_payments(member):
    payments = (SubscriptionPayment.objects.filter(subscription__membership__member=member)
                .order_by("created_at", "pk")
                .values_list("created_at", "plan__name", "method", "amount", "currency",
                             "period_start", "period_end", "reference", "reason"))
    return [{
        "paid_at": iso(at), "plan": plan, "method": method, "amount": str(amount),
        "currency": currency, "period_from": iso(start), "period_until": iso(end),
        "reference": reference, "reason": reason,
    } for at, plan, method, amount, currency, start, end, reference, reason in payments]


def _subscription_history(member):
    events = (SubscriptionEvent.objects.filter(subscription__membership__member=member)
              .order_by("created_at", "pk")
              .values_list("created_at", "subscription__plan__name", "from_status", "to_status",
                           "cause"))
    return [{"at": iso(at), "plan": plan, "from": before or None, "to": after, "cause": cause}
            for at, plan, before, after, cause in events]


def member_data(member):
    """{section: rows} of everything Patron holds about this member card, every app's included.

    The core's sections come first; each receiver of `collect_member_data` adds its own. A
    receiver that names a section already taken is a programming error (ValueError), not a
    silent overwrite.
    """
    member = Member.objects.select_related("joined_store").get(pk=member.pk)
    sections = {
        "member_card": _card(member),
        "memberships": _memberships(member),
        "ledger": _ledger(member),
        "purchases": _purchases(member),
        "purchase_lines": _purchase_lines(member),
        "refunds": _refunds(member),
        "redemptions": _redemptions(member),
        "payments_with_points": _payments(member),
        "subscriptions": _subscriptions(member),
        "subscription_payments": _subscription_payments(member),
        "subscription_history": _subscription_history(member),
    }
    for receiver, extra in signals.collect_member_data.send(sender=Member, member=member):
        taken = set(extra or {}) & set(sections)
        if taken:
            raise ValueError(f"{receiver!r} returned sections already taken: {sorted(taken)}")
        sections.update(extra or {})
    return sections
