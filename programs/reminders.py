"""Reminder emails about points, written to the outbox."""

from datetime import timedelta

from django.db.models import Min, Q, Sum
from django.urls import reverse
from django.utils import timezone

from loyalty_site.models import EmailCategory
from loyalty_site.services import absolute_url, queue_email

from .models import Membership, PointLot
from .selectors import available_rewards

# Rewards suggested in a reminder: the few most expensive the member can afford.
SUGGESTED_REWARDS = 3


def send_expiry_reminders(*, now=None):
    """Email every member whose points expire within their program's reminder window.

    One email per membership and expiry date (the outbox's dedupe key), so running this every
    hour, or twice, sends each reminder once. Members who opted out of reminders get none.
    Returns the number of emails queued.
    """
    now = now or timezone.now()
    due = (
        PointLot.objects.filter(remaining__gt=0, is_pending=False, expires_at__gt=now)
        .filter(Q(membership__program__is_active=True))
        .values("membership_id")
        .annotate(points=Sum("remaining"), first_expiry=Min("expires_at"))
        .order_by("membership_id")
    )
    queued = 0
    for row in due.iterator():
        membership = (Membership.objects.select_related("program", "member__user")
                      .get(pk=row["membership_id"]))
        window_end = now + timedelta(days=membership.program.expiry_reminder_days)
        if row["first_expiry"] > window_end:
            continue
        expiring = PointLot.objects.filter(
            membership=membership, remaining__gt=0, is_pending=False,
            expires_at__gt=now, expires_at__lte=window_end,
        ).aggregate(points=Sum("remaining"))["points"]
        user = membership.member.user
        rewards = list(available_rewards(now=now).filter(
            program=membership.program, cost__lte=membership.available,
        ).exclude(stock=0).order_by("-cost")[:SUGGESTED_REWARDS])
        email = queue_email(
            to=user.email, template="points_expiring", category=EmailCategory.REMINDERS, user=user,
            dedupe_key=f"points-expiring:{membership.pk}:{row['first_expiry']:%Y-%m-%d}",
            context={
                "membership": membership, "points": expiring,
                "expires_on": timezone.localtime(row["first_expiry"]).date(),
                "rewards": rewards, "portal_url": absolute_url(reverse("portal:home")),
            },
        )
        queued += email is not None
    return queued
