"""Survey emails. Each task is idempotent: an invitation is claimed before it is emailed."""

from celery import shared_task

from . import services


@shared_task
def send_invitation(invitation_id):
    return services.send_invitation(invitation_id=invitation_id) is not None


@shared_task
def send_due_invitations():
    """Email every invitation whose delay is over (after-purchase surveys, and any that a
    prompt enqueue missed)."""
    sent = sum(services.send_invitation(invitation_id=pk) is not None
               for pk in services.due_invitation_ids())
    return {"sent": sent}


@shared_task
def send_reminders():
    sent = sum(services.send_reminder(invitation_id=pk) is not None
               for pk in services.reminder_due_ids())
    return {"sent": sent}
