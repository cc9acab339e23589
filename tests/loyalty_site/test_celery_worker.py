"""A real Celery worker on Redis sends an outbox email exactly once, even when asked twice."""

import threading

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_postrun
from django.conf import settings
from django.core import mail

from loyalty_site import services
from loyalty_site.celery import app as celery_app
from loyalty_site.models import OutboxEmail
from loyalty_site.tasks import send_outbox_email

from ..factories import UserFactory

pytestmark = [
    pytest.mark.redis,
    pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis (set REDIS_URL); CI always runs it"),
]


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_the_email_once_when_the_task_runs_twice():
    celery_app.conf.task_always_eager = False
    celery_app.control.purge()
    finished = []
    both_done = threading.Event()

    def count(sender=None, task_id=None, **kwargs):
        if sender.name == send_outbox_email.name:
            finished.append(task_id)
            if len(finished) == 2:
                both_done.set()

    task_postrun.connect(count, weak=False)
    try:
        user = UserFactory()
        # Outside a transaction the on-commit enqueue happens at once: that is the first task.
        email = services.send_staff_invitation(user=user, inviter=None)
        send_outbox_email.delay(email.pk)
        with start_worker(celery_app, pool="solo", perform_ping_check=False, loglevel="WARNING"):
            assert both_done.wait(timeout=60), f"worker ran {len(finished)} of 2 tasks"
    finally:
        task_postrun.disconnect(count)
    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.SENT
    assert email.attempts == 1
    assert [m.to for m in mail.outbox] == [[user.email]]
