"""Reads that span the apps."""

from django.db.models import Count, Q

from .models import OutboxEmail, User, WebhookDelivery, WebhookEndpoint
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


def _status_counts(model):
    """{status: rows} for every status of `model` (an outbox), none left out."""
    counts = dict(model.objects.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    return {status: counts.get(status, 0) for status in model.Status.values}


def outbox_counts():
    return _status_counts(OutboxEmail)


def webhook_endpoints():
    """Every endpoint with how many of its deliveries wait and how many failed."""
    return WebhookEndpoint.objects.annotate(
        waiting=Count("deliveries", filter=Q(deliveries__status=WebhookDelivery.Status.PENDING)),
        failed=Count("deliveries", filter=Q(deliveries__status=WebhookDelivery.Status.FAILED)),
    ).order_by("pk")


def webhook_deliveries(*, status="", event_type="", endpoint=None):
    """The delivery log, newest first, filtered by what a manager chose (unknown values ignored)."""
    deliveries = WebhookDelivery.objects.select_related("endpoint").only(
        "event_type", "status", "attempts", "next_attempt_at", "response_status", "last_error",
        "created_at", "delivered_at", "endpoint__url", "endpoint__description",
    )
    if status in WebhookDelivery.Status.values:
        deliveries = deliveries.filter(status=status)
    if event_type:
        deliveries = deliveries.filter(event_type=event_type)
    if endpoint is not None:
        deliveries = deliveries.filter(endpoint=endpoint)
    return deliveries.order_by("-created_at", "-pk")


def webhook_delivery_counts():
    return _status_counts(WebhookDelivery)
