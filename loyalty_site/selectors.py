"""Reads that span the apps."""

from django.db.models import Count

from .models import OutboxEmail, User
from .roles import STAFF_ROLES


def staff_members():
    """Everyone with a staff role, with their roles loaded, by name."""
    return (
        User.objects.filter(groups__name__in=STAFF_ROLES)
        .distinct()
        .prefetch_related("groups")
        .order_by("name", "email")
    )


def outbox_emails(*, status=""):
    emails = OutboxEmail.objects.only(
        "kind", "to_email", "subject", "status", "attempts", "last_error", "created_at",
        "sent_at", "next_attempt_at",
    )
    if status in OutboxEmail.Status.values:
        emails = emails.filter(status=status)
    return emails.order_by("-created_at", "-pk")


def outbox_counts():
    counts = dict(
        OutboxEmail.objects.values_list("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    return {status: counts.get(status, 0) for status in OutboxEmail.Status.values}
