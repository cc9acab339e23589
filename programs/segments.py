"""Who is in a segment, worked out when it is used. Read-only: selectors for segments.

A segment's filters all apply together (AND); a filter left empty does not narrow anything.
Dates are the shop's calendar days (settings.TIME_ZONE): "before 1 March" means before
midnight at the start of 1 March there. Members who never bought anything are matched only by
segments with no purchase or spend filter: "last purchase before" finds lapsed customers, not
people who never came. Spend is the money paid for purchases made in the period, less what was
refunded of those purchases.
"""

from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db.models import DecimalField, Exists, Max, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from .models import Member, Membership, Purchase, Refund, Segment


def _midnight(day):
    return timezone.make_aware(datetime.combine(day, time.min))


def _spend(segment):
    """Each member's spend in the segment's period, net of refunds, as a subquery."""
    purchases = Purchase.objects.filter(member=OuterRef("pk"))
    refunds = Refund.objects.filter(purchase__member=OuterRef("pk"))
    if segment.spend_from:
        purchases = purchases.filter(occurred_at__gte=_midnight(segment.spend_from))
        refunds = refunds.filter(purchase__occurred_at__gte=_midnight(segment.spend_from))
    if segment.spend_until:
        # "Until" includes the day itself.
        end = _midnight(segment.spend_until) + timedelta(days=1)
        purchases = purchases.filter(occurred_at__lt=end)
        refunds = refunds.filter(purchase__occurred_at__lt=end)
    money = DecimalField(max_digits=16, decimal_places=2)
    paid = Subquery(purchases.order_by().values("member").annotate(total=Sum("amount")).values("total"),
                    output_field=money)
    refunded = Subquery(refunds.order_by().values("purchase__member").annotate(total=Sum("amount"))
                        .values("total"), output_field=money)
    return Coalesce(paid, Value(Decimal(0)), output_field=money) - Coalesce(
        refunded, Value(Decimal(0)), output_field=money)


# Filters that other apps work out, by Segment field: apply(members, value) -> members. The
# surveys app registers "survey_band"; the core never imports it.
EXTRA_FILTERS = {}


def register_segment_filter(field, apply):
    EXTRA_FILTERS[field] = apply


def segment_members(segment, tiers=None):
    """The open member cards that match `segment` now, as a queryset (not yet evaluated).

    `tiers` stands in for segment.tiers for a segment not saved yet (a preview of a form).
    """
    members = Member.objects.filter(closed_at__isnull=True)
    if segment.last_purchase_after or segment.last_purchase_before:
        members = members.annotate(last_purchase=Max("purchases__occurred_at")).filter(
            last_purchase__isnull=False)
        if segment.last_purchase_after:
            members = members.filter(last_purchase__gte=_midnight(segment.last_purchase_after))
        if segment.last_purchase_before:
            members = members.filter(last_purchase__lt=_midnight(segment.last_purchase_before))
    if segment.spend_at_least is not None or segment.spend_at_most is not None:
        members = members.annotate(spend=_spend(segment))
        if segment.spend_at_least is not None:
            members = members.filter(spend__gte=segment.spend_at_least)
        if segment.spend_at_most is not None:
            members = members.filter(spend__lte=segment.spend_at_most)
    if segment.survey_band:
        members = EXTRA_FILTERS["survey_band"](members, segment.survey_band)
    if segment.birthday_month:
        members = members.filter(birthday__month=segment.birthday_month)
    if segment.store_id:
        members = members.filter(Exists(Purchase.objects.filter(member=OuterRef("pk"),
                                                                store_id=segment.store_id)))
    if segment.program_id:
        standing = Q(member=OuterRef("pk"), program_id=segment.program_id)
        if segment.balance_at_least is not None:
            standing &= Q(balance__gte=segment.balance_at_least)
        if segment.balance_at_most is not None:
            standing &= Q(balance__lte=segment.balance_at_most)
        if tiers is None:
            tiers = segment.tiers.all() if segment.pk else []
        tier_ids = [tier.pk for tier in tiers]
        if tier_ids:
            standing &= Q(tier_id__in=tier_ids)
        if standing != Q(member=OuterRef("pk"), program_id=segment.program_id):
            members = members.filter(Exists(Membership.objects.filter(standing)))
    return members.order_by("pk")


def segment_size(segment, tiers=None):
    return segment_members(segment, tiers).count()


def segments_with_sizes(limit=50):
    """The segments by name, each with its size now: one count per segment, at most `limit`."""
    segments = list(Segment.objects.select_related("program", "store").prefetch_related("tiers")[:limit])
    for segment in segments:
        segment.size = segment_size(segment)
    return segments


def segment_preview(segment, limit=50):
    """The first members of a segment with their name, email and last purchase, for staff."""
    return list(segment_members(segment).select_related("user")
                .annotate(last_seen=Max("purchases__occurred_at"))[:limit])

