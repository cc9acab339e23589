"""Reads of the programs core."""

from datetime import timedelta
from decimal import Decimal

from django.db.models import Count, Sum
from django.utils import timezone

from .models import Member, Purchase, Store


def member_for_user(user):
    """The person's member card, or None when they have none (staff, say)."""
    return Member.objects.filter(user=user).first()


def shop_overview(*, with_revenue, days=30):
    """Headline figures for the staff home: members, and purchases in the last `days` days."""
    since = timezone.now() - timedelta(days=days)
    recent = Purchase.objects.filter(occurred_at__gte=since)
    figures = recent.aggregate(
        purchases=Count("pk"), buyers=Count("member", distinct=True), revenue=Sum("amount")
    )
    overview = {
        "days": days,
        "members": Member.objects.count(),
        "new_members": Member.objects.filter(joined_at__gte=since).count(),
        "purchases": figures["purchases"],
        "buyers": figures["buyers"],
        "stores": Store.objects.filter(is_active=True).count(),
    }
    if with_revenue:
        overview["revenue"] = figures["revenue"] or Decimal("0")
    return overview
