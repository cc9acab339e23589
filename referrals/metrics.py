"""Referral figures on the staff dashboard (the loyalty_site.dashboard registry) and referrals
in the engagement score (programs.metrics).

Each kind of figure reads its rows in ONE query covering the page's period, the one before and
every step of the trend, then counts each window in Python, so the dashboard stays within its
query budget. The same definitions as referrals.selectors.conversion and referred_revenue.
"""

from decimal import Decimal

from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from loyalty_site.dashboard import Metric, register
from programs.metrics import EngagementSource, Figure, register_engagement_source, trend
from programs.models import Purchase

from .models import Referral
from .selectors import CONVERTED

PERCENT = Decimal("0.1")


def _windows(period):
    top = period.shared["top"]
    buckets = top.buckets()
    return [top, top.previous(), buckets[0].previous(), *buckets]


def _span(period):
    windows = _windows(period)
    return min(w.since for w in windows), max(w.until for w in windows)


def _referral_rows(period):
    """[(referred at, friend id, converted)] for the whole page, read once."""
    if "referral_rows" not in period.shared:
        since, until = _span(period)
        referrals = Referral.objects.filter(created_at__gte=since, created_at__lt=until)
        if period.store is not None:
            referrals = referrals.filter(friend__joined_store=period.store)
        if period.program is not None:
            referrals = referrals.filter(program=period.program)
        period.shared["referral_rows"] = list(period.narrow(referrals, "friend").annotate(
            converted=Q(CONVERTED)).values_list("created_at", "friend_id", "converted"))
    return period.shared["referral_rows"]


def _in(window, rows):
    return [row for row in rows if window.since <= row[0] < window.until]


def conversion(period):
    def figure(window):
        rows = _in(window, _referral_rows(period))
        referred = {friend for _at, friend, _converted in rows}
        converted = {friend for _at, friend, converted in rows if converted}
        value = (Decimal(100) * len(converted) / len(referred)).quantize(PERCENT) if referred else None
        return Figure(value, len(referred))

    return trend(figure, period)


def _revenue_rows(period):
    """[(occurred at, amount less refunds)] of referred customers' purchases, read once."""
    if "referred_purchase_rows" not in period.shared:
        since, until = _span(period)
        friends = Referral.objects.exclude(status=Referral.Status.REFUSED).values("friend")
        purchases = Purchase.objects.filter(member__in=friends, occurred_at__gte=since,
                                            occurred_at__lt=until)
        if period.store is not None:
            purchases = purchases.filter(store=period.store)
        period.shared["referred_purchase_rows"] = list(period.narrow(purchases).annotate(
            refunded=Coalesce(Sum("refunds__amount"), Decimal(0))).values_list(
            "occurred_at", "amount", "refunded"))
    return period.shared["referred_purchase_rows"]


def revenue(period):
    def figure(window):
        rows = _in(window, _revenue_rows(period))
        return Figure(sum((amount - refunded for _at, amount, refunded in rows), Decimal(0)), len(rows))

    return trend(figure, period)


def referrals_made(period):
    """Referrals made in the period, for the engagement score (weight 5)."""
    return len(_in(period, _referral_rows(period)))


def register_referral_metrics():
    section, unit = Metric.Section.REFERRALS, Metric.Unit
    register(Metric(
        "referral_conversion", section, _("Referral conversion"),
        _("Referred customers who made their qualifying purchase (and kept it through the "
          "review period) ÷ customers referred in the period, in per cent."),
        conversion, unit.PERCENT, _("referred customers"), minimum_sample=5))
    register(Metric(
        "referred_revenue", section, _("Revenue from referred customers"),
        _("What customers whose referral was not refused spent in the period, less refunds."),
        revenue, unit.MONEY, _("purchases")))
    register_engagement_source(EngagementSource(
        key="referrals", label=_("friends referred"), weight=5, count=referrals_made))
