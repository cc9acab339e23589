"""Reminder emails about points, written to the outbox."""

from datetime import timedelta

from django.db.models import Min, Sum
from django.urls import reverse
from django.utils import timezone

from loyalty_site.models import EmailCategory
from loyalty_site.services import absolute_url, queue_email, send_outbox_emails

from .models import Membership, PointLot, Program
from .selectors import available_rewards

# Rewards suggested in a reminder: the few most expensive the member can afford.
SUGGESTED_REWARDS = 3
# Memberships read, and emails handed to the queue, per round.
CHUNK = 500


def affordable(rewards, points):
    """The most expensive few of `rewards` (most expensive first) that `points` pay for."""
    return [reward for reward in rewards if reward.cost <= points][:SUGGESTED_REWARDS]


def send_expiry_reminders(*, now=None):
    """Email every member whose points expire within their program's reminder window.

    One email per membership and expiry date (the outbox's dedupe key), so running this every
    hour, or twice, sends each reminder once. Members who opted out of reminders get none.
    A few queries per 500 members; the emails are queued in batches. Returns the number of
    emails queued.
    """
    now = now or timezone.now()
    queued = 0
    for program in Program.objects.filter(is_active=True):
        window_end = now + timedelta(days=program.expiry_reminder_days)
        # Catalog order reversed: the most expensive rewards first, stock left.
        rewards = list(available_rewards(now=now)
                       .filter(program=program, minimum_tier__isnull=True, plans__isnull=True)
                       .exclude(stock=0).order_by("-cost", "name", "pk"))
        due = list(
            PointLot.objects.filter(membership__program=program, remaining__gt=0, is_pending=False,
                                    expires_at__gt=now, expires_at__lte=window_end)
            .values("membership_id").annotate(points=Sum("remaining"), first_expiry=Min("expires_at"))
            .order_by("membership_id")
        )
        for start in range(0, len(due), CHUNK):
            rows = due[start:start + CHUNK]
            memberships = Membership.objects.select_related("member__user").in_bulk(
                [row["membership_id"] for row in rows])
            emails = []
            for row in rows:
                membership = memberships[row["membership_id"]]
                membership.program = program
                user = membership.member.user
                emails.append(queue_email(
                    to=user.email, template="points_expiring", category=EmailCategory.REMINDERS,
                    user=user, send=False,
                    dedupe_key=f"points-expiring:{membership.pk}:{row['first_expiry']:%Y-%m-%d}",
                    context={
                        "membership": membership, "points": row["points"],
                        "expires_on": timezone.localtime(row["first_expiry"]).date(),
                        "rewards": affordable(rewards, membership.available),
                        "portal_url": absolute_url(reverse("portal:home")),
                    },
                ))
            send_outbox_emails(emails)
            queued += sum(email is not None for email in emails)
    return queued
