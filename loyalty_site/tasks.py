"""Background work that spans the apps. Tasks take ids and call a service; nothing more."""

from celery import shared_task
from django.utils import timezone

from . import dashboard, services, webhooks
from .models import OutboxEmail

FLUSH_BATCH = 500


@shared_task(bind=True, max_retries=None)
def send_outbox_email(self, email_id):
    try:
        return services.send_outbox_email(email_id=email_id)
    except services.OutboxSendFailed as failure:
        if failure.retry_at is None:
            raise
        # The row already says when to try again; the retry only makes that prompt.
        raise self.retry(eta=failure.retry_at, exc=failure) from failure


@shared_task
def send_outbox_batch(email_ids):
    """Send a batch of outbox emails. One that the mail server refuses waits for its next
    attempt (its row says when), and the flush task queues it again then."""
    sent = 0
    for email_id in email_ids:
        try:
            sent += services.send_outbox_email(email_id=email_id)
        except services.OutboxSendFailed:
            continue  # recorded on the row with its next attempt; not lost
    return sent


@shared_task
def flush_outbox():
    """Enqueue emails that are due but were never (or no longer) on the queue."""
    now = timezone.now()
    services.release_stale_claims(now=now)
    due = list(
        OutboxEmail.objects.filter(status=OutboxEmail.Status.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:FLUSH_BATCH]
    )
    for email_id in due:
        send_outbox_email.delay(email_id)
    return len(due)


@shared_task
def send_webhooks(delivery_ids):
    """Send new webhook deliveries at once, after the commit that wrote them. One that fails
    waits for its next attempt, which send_due_webhooks makes."""
    return webhooks.send_due(ids=delivery_ids, limit=len(delivery_ids))


@shared_task
def send_due_webhooks():
    """Send webhook deliveries whose next attempt is due: retries, and any an enqueue missed."""
    return webhooks.send_due()


@shared_task
def warm_dashboard():
    """Compute the metrics page's default view afresh, so the first manager of the day does not
    wait for it."""
    return {"metrics": dashboard.warm_default_view()}
