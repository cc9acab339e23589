"""The email outbox: written first, sent once, retried with back-off, obeying preferences."""

from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError

from loyalty_site import services
from loyalty_site.models import EmailCategory, OutboxEmail
from loyalty_site.tasks import flush_outbox, send_outbox_batch, send_outbox_email

from ..conftest import needs_postgres
from ..factories import UserFactory
from ..parallel import run_in_parallel

pytestmark = pytest.mark.django_db


def queue_reminder(user, **kwargs):
    return services.queue_email(
        to=user.email, template="staff_invitation", category=EmailCategory.REMINDERS, user=user,
        context={"inviter": None, "set_password_url": "https://x", "sign_in_url": "https://y"},
        **kwargs,
    )


def test_an_email_is_written_before_it_is_sent_and_sent_after_commit(
    member, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        email = queue_reminder(member.user)
    assert OutboxEmail.objects.get().status == OutboxEmail.Status.PENDING
    assert mail.outbox == []
    for callback in callbacks:
        callback()
    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.SENT and email.attempts == 1
    assert len(mail.outbox) == 1


def test_a_queue_that_is_down_at_commit_leaves_the_email_to_the_flush(
    member, django_capture_on_commit_callbacks, caplog
):
    """The change that wrote the email stands; the flush task sends it once the queue is back."""
    down = OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
    with (mock.patch.object(send_outbox_email, "delay", side_effect=down),
          django_capture_on_commit_callbacks(execute=True)):
        email = queue_reminder(member.user)
    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.PENDING and mail.outbox == []
    assert "left to its periodic sweep" in caplog.text
    flush_outbox()
    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.SENT and len(mail.outbox) == 1


def test_optional_emails_carry_one_click_unsubscribe_in_text_html_and_headers(member):
    email = queue_reminder(member.user)
    services.send_outbox_email(email_id=email.pk)
    sent = mail.outbox[0]
    unsubscribe_url = email.headers["List-Unsubscribe"].strip("<>")
    assert sent.extra_headers["List-Unsubscribe"] == f"<{unsubscribe_url}>"
    assert sent.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe_url in sent.body
    html, mimetype = sent.alternatives[0]
    assert mimetype == "text/html" and unsubscribe_url in html
    assert sent.extra_headers["Message-ID"] == email.message_id


def test_essential_emails_have_no_unsubscribe_link(member):
    services.send_staff_invitation(user=member.user, inviter=None)
    email = OutboxEmail.objects.get()
    assert email.category == EmailCategory.ESSENTIAL
    assert "List-Unsubscribe" not in email.headers
    assert "nsubscribe" not in email.body_text


def test_an_opted_out_member_gets_no_optional_email(member):
    member.user.emails_reminders = False
    member.user.save()
    assert queue_reminder(member.user) is None
    assert not OutboxEmail.objects.exists()


def test_the_same_dedupe_key_is_queued_once(member):
    assert queue_reminder(member.user, dedupe_key="expiry:1:2026-12") is not None
    assert queue_reminder(member.user, dedupe_key="expiry:1:2026-12") is None
    assert OutboxEmail.objects.count() == 1


def test_emails_are_rendered_in_the_recipients_language(member):
    member.user.language = "pl"
    member.user.save()
    email = queue_reminder(member.user)
    assert email.subject != queue_reminder(UserFactory(language="en")).subject


def test_running_the_send_task_twice_sends_once(member):
    email = queue_reminder(member.user)
    send_outbox_email.delay(email.pk)
    send_outbox_email.delay(email.pk)
    assert len(mail.outbox) == 1


def test_a_refused_send_is_retried_with_back_off_then_marked_failed(member, settings):
    settings.OUTBOX_MAX_ATTEMPTS = 2
    email = queue_reminder(member.user)
    with mock.patch("django.core.mail.EmailMultiAlternatives.send",
                    side_effect=ConnectionRefusedError("smtp down")):
        before = timezone.now()
        with pytest.raises(services.OutboxSendFailed) as failure:
            services.send_outbox_email(email_id=email.pk)
        email.refresh_from_db()
        assert email.status == OutboxEmail.Status.PENDING
        assert "smtp down" in email.last_error
        assert email.next_attempt_at >= before + timedelta(minutes=1)
        assert failure.value.retry_at == email.next_attempt_at
        with pytest.raises(services.OutboxSendFailed):
            services.send_outbox_email(email_id=email.pk)
    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.FAILED and email.attempts == 2


def test_flush_sends_what_was_never_enqueued_and_frees_stale_claims(member):
    pending = OutboxEmail.objects.create(
        kind="x", category=EmailCategory.ESSENTIAL, to_email="a@example.com", from_email="s@x",
        subject="Pending", body_text="hi")
    stale = OutboxEmail.objects.create(
        kind="x", category=EmailCategory.ESSENTIAL, to_email="b@example.com", from_email="s@x",
        subject="Stale", body_text="hi", status=OutboxEmail.Status.SENDING,
        claimed_at=timezone.now() - timedelta(hours=1))
    later = OutboxEmail.objects.create(
        kind="x", category=EmailCategory.ESSENTIAL, to_email="c@example.com", from_email="s@x",
        subject="Later", body_text="hi", next_attempt_at=timezone.now() + timedelta(hours=1))
    flush_outbox.delay()
    assert sorted(m.subject for m in mail.outbox) == ["Pending", "Stale"]
    later.refresh_from_db()
    assert later.status == OutboxEmail.Status.PENDING
    assert {pending.pk, stale.pk} == set(
        OutboxEmail.objects.filter(status=OutboxEmail.Status.SENT).values_list("pk", flat=True))


def test_a_manager_can_send_a_failed_email_again(
    client, manager, django_capture_on_commit_callbacks
):
    email = OutboxEmail.objects.create(
        kind="x", category=EmailCategory.ESSENTIAL, to_email="a@example.com", from_email="s@x",
        subject="Failed once", body_text="hi", status=OutboxEmail.Status.FAILED, attempts=6)
    client.force_login(manager)
    response = client.get(reverse("staff:outbox"), {"status": "failed"})
    assert "Failed once" in response.content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("staff:retry_email", args=[email.pk]))
    email.refresh_from_db()
    assert email.status == OutboxEmail.Status.SENT
    assert manager.staff_actions.get().action == "loyalty_site.outbox.retried"


@needs_postgres()
@pytest.mark.django_db(transaction=True)
def test_two_workers_sending_the_same_email_at_once_send_it_once():
    user = UserFactory()
    email = OutboxEmail.objects.create(
        kind="x", category=EmailCategory.ESSENTIAL, to_email=user.email, from_email="s@x",
        subject="Once", body_text="hi")
    results = run_in_parallel(8, lambda i: services.send_outbox_email(email_id=email.pk))
    assert sorted(results) == [False] * 7 + [True]
    assert len(mail.outbox) == 1


def test_a_batch_sends_each_email_once_and_a_refusal_does_not_stop_the_others(member):
    first, second, third = (queue_reminder(member.user, send=False) for _ in range(3))
    assert mail.outbox == []
    calls = []

    def refuse_the_second(message, *args, **kwargs):
        calls.append(message.subject)
        if len(calls) == 2:
            raise ConnectionRefusedError("smtp down")
        return 1

    with mock.patch("django.core.mail.EmailMultiAlternatives.send", autospec=True,
                    side_effect=refuse_the_second):
        assert send_outbox_batch([first.pk, second.pk, third.pk]) == 2
    statuses = dict(OutboxEmail.objects.values_list("pk", "status"))
    assert statuses == {first.pk: "sent", second.pk: "pending", third.pk: "sent"}
    # Running the batch again sends nothing twice.
    assert send_outbox_batch([first.pk, third.pk]) == 0
