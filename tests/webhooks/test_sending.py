"""Signing, retries with back-off, giving up, and what a receiver sees, against a local
HTTP receiver."""

import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from loyalty_site import webhooks
from loyalty_site.models import StaffAction, WebhookAttempt, WebhookDelivery

pytestmark = pytest.mark.django_db


def verify(header, body, secret, *, tolerance=300):
    """How docs/webhooks.md tells a receiver to check a delivery, written from the docs rather
    than from Patron's code: HMAC-SHA256 of "<t>.<body>", any v1 may match, t recent."""
    fields = [part.split("=", 1) for part in header.split(",")]
    timestamp = int(next(value for key, value in fields if key == "t"))
    expected = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    fresh = abs(time.time() - timestamp) <= tolerance
    return fresh and any(key == "v1" and hmac.compare_digest(value, expected) for key, value in fields)


def ping(endpoint, manager):
    return webhooks.send_test_event(actor=manager, endpoint=endpoint)


def make_due(delivery):
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())


def test_a_delivery_is_signed_so_a_receiver_can_verify_it(endpoint, receiver, manager):
    delivery = ping(endpoint, manager)
    assert webhooks.send_due() == 1
    [request] = receiver.requests
    headers, body = request["headers"], request["body"]
    assert verify(headers["Patron-Signature"], body, endpoint.secret)
    assert not verify(headers["Patron-Signature"], body, webhooks.new_secret())
    assert not verify(headers["Patron-Signature"], body.replace(b"reachable", b"hacked"), endpoint.secret)
    assert headers["Patron-Event"] == "ping"
    assert headers["Patron-Delivery"] == str(delivery.pk)
    assert headers["Content-Type"] == "application/json"
    payload = json.loads(body)
    assert payload == delivery.payload
    assert payload["type"] == "ping" and payload["api_version"] == webhooks.API_VERSION
    assert payload["id"] == str(delivery.event_id)
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.DELIVERED
    assert (delivery.response_status, delivery.response_body) == (200, "answer 200")


def test_an_old_signature_is_refused_by_the_replay_window(endpoint):
    body = b'{"id":"x"}'
    stale = int(time.time()) - 301
    header = f"t={stale},v1={webhooks.sign(endpoint.secret, stale, body)}"
    assert not verify(header, body, endpoint.secret)


def test_after_a_roll_both_secrets_sign_for_a_day(endpoint, manager):
    old = endpoint.secret
    endpoint = webhooks.roll_secret(actor=manager, endpoint=endpoint)
    assert endpoint.secret != old
    now, body = timezone.now(), b"{}"
    header = webhooks.signature_header(endpoint, int(now.timestamp()), body, now=now)
    assert verify(header, body, old) and verify(header, body, endpoint.secret)
    later = now + timedelta(hours=25)
    header = webhooks.signature_header(endpoint, int(now.timestamp()), body, now=later)
    assert header.count("v1=") == 1 and not verify(header, body, old)
    assert StaffAction.objects.filter(action="loyalty_site.webhook.secret_rolled").exists()


def test_a_failed_attempt_waits_with_back_off_and_the_next_succeeds(endpoint, receiver, manager):
    receiver.answers = [500, 200]
    delivery = ping(endpoint, manager)
    before = timezone.now()
    assert webhooks.send_due() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("pending", 1, 500)
    assert delivery.response_body == "answer 500" and delivery.last_error == "HTTP 500"
    # One minute, plus at most a quarter more of jitter.
    assert before + timedelta(seconds=60) <= delivery.next_attempt_at
    assert delivery.next_attempt_at <= timezone.now() + timedelta(seconds=75)
    assert webhooks.send_due() == 0  # not due yet
    make_due(delivery)
    assert webhooks.send_due() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.response_status) == ("delivered", 2, 200)
    assert delivery.last_error == ""
    first, second = receiver.requests
    # The same delivery id on every attempt, so a receiver can tell a retry from a new event.
    assert first["headers"]["Patron-Delivery"] == second["headers"]["Patron-Delivery"]
    assert first["body"] == second["body"]
    assert [a.response_status for a in WebhookAttempt.objects.filter(delivery=delivery)] == [500, 200]


@pytest.mark.parametrize(("attempts", "minutes"), [(1, 1), (2, 2), (3, 4), (6, 32), (9, 256), (12, 360)])
def test_the_pause_doubles_with_up_to_a_quarter_of_jitter(attempts, minutes):
    for _try in range(20):
        pause = webhooks.backoff(attempts)
        assert timedelta(minutes=minutes) <= pause <= timedelta(minutes=minutes * 1.25)


def test_a_delivery_fails_after_the_last_attempt_and_a_manager_sends_it_again(
        endpoint, receiver, manager, settings, client, django_capture_on_commit_callbacks):
    settings.WEBHOOK_MAX_ATTEMPTS = 3
    receiver.answers = [503]
    delivery = ping(endpoint, manager)
    for _attempt in range(3):
        make_due(delivery)
        assert webhooks.send_due() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", 3)
    make_due(delivery)
    assert webhooks.send_due() == 0
    assert len(receiver.requests) == 3

    receiver.answers = [200]
    client.force_login(manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/staff/webhooks/deliveries/{delivery.pk}/retry/")
    assert response.status_code == 302
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 1)
    assert WebhookAttempt.objects.filter(delivery=delivery).count() == 4
    assert StaffAction.objects.filter(action="loyalty_site.webhook.retried", actor=manager).exists()
    # A delivered one cannot be "retried".
    assert not webhooks.retry_delivery(actor=manager, delivery=delivery)


def test_an_unreachable_endpoint_is_recorded_and_retried(endpoint, receiver, manager):
    receiver.stop()
    delivery = ping(endpoint, manager)
    assert webhooks.send_due() == 1
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.response_status is None
    assert "Connection" in delivery.last_error or "refused" in delivery.last_error.lower()


def test_a_slow_endpoint_times_out(endpoint, receiver, manager, settings):
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.2
    receiver.delay = 1.0
    delivery = ping(endpoint, manager)
    assert webhooks.send_due() == 1
    delivery.refresh_from_db()
    assert delivery.status == "pending"
    assert "timed out" in delivery.last_error.lower() or "timeout" in delivery.last_error.lower()


def test_a_redirect_is_not_followed(endpoint, receiver, manager):
    receiver.answers = [302]
    delivery = ping(endpoint, manager)
    webhooks.send_due()
    delivery.refresh_from_db()
    assert (delivery.status, delivery.response_status) == ("pending", 302)
    assert len(receiver.requests) == 1


def test_a_switched_off_endpoint_is_sent_nothing(endpoint, receiver, manager):
    delivery = ping(endpoint, manager)
    webhooks.change_endpoint(actor=manager, endpoint=endpoint, url=endpoint.url,
                             event_types=endpoint.event_types, is_active=False)
    assert webhooks.send_due() == 0
    assert receiver.requests == []
    with pytest.raises(webhooks.ValidationError):
        ping(endpoint, manager)
    webhooks.change_endpoint(actor=manager, endpoint=endpoint, url=endpoint.url,
                             event_types=endpoint.event_types, is_active=True)
    assert webhooks.send_due() == 1
    delivery.refresh_from_db()
    assert delivery.status == "delivered"


def test_the_sweep_is_on_the_beat_schedule(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["webhooks-send-due"]
    assert entry["task"] == "loyalty_site.tasks.send_due_webhooks"
    assert entry["schedule"] <= 60


def test_a_new_delivery_is_sent_after_the_commit(endpoint, receiver, manager,
                                                 django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        delivery = ping(endpoint, manager)
    assert receiver.requests == []  # nothing before the commit
    for callback in callbacks:
        callback()
    delivery.refresh_from_db()
    assert delivery.status == "delivered" and len(receiver.requests) == 1
