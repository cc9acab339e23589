"""Outbound webhooks: endpoints, the delivery outbox, signing and sending (docs/webhooks.md).

An event becomes one WebhookDelivery row per endpoint that listens to its type, written in the
transaction of the change it tells about: the row exists if and only if the change committed.
After the commit a task sends the new rows at once; a periodic task sends what is due later
(retries, and anything an enqueue missed). Each send locks its row with FOR UPDATE SKIP LOCKED
for the length of the HTTP request, so two workers never send the same delivery at once and a
worker that dies mid-send leaves the row waiting rather than lost.

What the other apps announce becomes an event in loyalty_site/webhook_events.py.
"""

import hashlib
import hmac
import http.client
import json
import random
import secrets
import time
import urllib.error
import urllib.request
import uuid
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import TextField
from django.db.models.functions import Cast
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from .services import enqueue_on_commit, log_staff_action, retry_delay

# The shape of every payload: a receiver can tell which documented shape it got. Changes that
# add keys keep it; renaming or removing a key, or changing a meaning, gets a new date.
API_VERSION = "2026-11-23"

SIGNATURE_HEADER = "Patron-Signature"
# How long after a roll the previous secret still signs (a second v1= in the header).
PREVIOUS_SECRET_VALID = timedelta(hours=24)
# Of a receiver's answer only this much is kept: enough to see its error message.
RESPONSE_EXCERPT = 1000
# Deliveries a task sends before it hands over to the next run.
SEND_BATCH = 100


class EventType(models.TextChoices):
    POINTS_EARNED = "points.earned", gettext_lazy("Points earned (or given back)")
    POINTS_SPENT = "points.spent", gettext_lazy("Points spent (or taken back)")
    REWARD_REDEEMED = "reward.redeemed", gettext_lazy("Reward redeemed")
    TIER_CHANGED = "tier.changed", gettext_lazy("Tier changed")
    REFERRAL_QUALIFIED = "referral.qualified", gettext_lazy("Referral qualified")
    SURVEY_ANSWERED = "survey.answered", gettext_lazy("Survey answered")


# Sent by the test button only, to the one endpoint, whatever events it listens to.
PING = "ping"


# --- Signing -------------------------------------------------------------------------------


def new_secret():
    return f"whsec_{secrets.token_urlsafe(32)}"


def sign(secret, timestamp, body):
    """The hex HMAC-SHA256 of "<timestamp>.<body>" under `secret`; `body` is bytes."""
    message = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(endpoint, timestamp, body, *, now):
    """`t=<unix time>,v1=<signature>`, with a second v1 under the previous secret for a day
    after a roll, so a receiver still holding it verifies too."""
    parts = [f"t={timestamp}", f"v1={sign(endpoint.secret, timestamp, body)}"]
    if endpoint.previous_secret and endpoint.previous_secret_until and endpoint.previous_secret_until > now:
        parts.append(f"v1={sign(endpoint.previous_secret, timestamp, body)}")
    return ",".join(parts)


def encode(payload):
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def backoff(attempts):
    """The pause after the n-th failed attempt: the outbox's 1, 2, 4 … minutes (at most six
    hours) plus up to a quarter more at random, so deliveries that failed together (a receiver
    down) do not all come back in the same second."""
    delay = retry_delay(attempts)
    return delay + delay * random.uniform(0, 0.25)


# --- Endpoints -----------------------------------------------------------------------------


def _checked(url, event_types):
    """The URL and events as saved, or ValidationError with a message per field."""
    errors = {}
    url = (url or "").strip()
    parts = urlsplit(url)
    schemes = ("https", "http") if settings.WEBHOOK_ALLOW_HTTP else ("https",)
    if parts.scheme not in schemes or not parts.hostname:
        errors["url"] = (_("Enter a URL that starts with https:// or http://.")
                         if settings.WEBHOOK_ALLOW_HTTP else _("Enter a URL that starts with https://."))
    chosen = set(event_types or ())
    if not chosen or not chosen <= set(EventType.values):
        errors["event_types"] = _("Choose at least one event.")
    if errors:
        raise ValidationError(errors)
    return url, [value for value in EventType.values if value in chosen]


@transaction.atomic
def create_endpoint(*, actor, url, event_types, description="", is_active=True):
    """A new endpoint with a fresh secret. Raises ValidationError for a URL that is not https
    (unless WEBHOOK_ALLOW_HTTP) or no known event; nothing is written then."""
    url, event_types = _checked(url, event_types)
    endpoint = WebhookEndpoint.objects.create(
        url=url, event_types=event_types, description=description.strip(), is_active=is_active,
        secret=new_secret(), created_by=actor)
    log_staff_action(actor=actor, action="loyalty_site.webhook.created",
                     data={"endpoint": endpoint.pk, "url": url, "events": event_types})
    return endpoint


@transaction.atomic
def change_endpoint(*, actor, endpoint, url, event_types, description="", is_active=True):
    """Change where an endpoint is, what it hears and whether it is on. Deliveries already
    written keep their payload; an endpoint switched off is sent nothing until it is on again.
    Raises ValidationError as create_endpoint does."""
    url, event_types = _checked(url, event_types)
    endpoint.url, endpoint.event_types = url, event_types
    endpoint.description, endpoint.is_active = description.strip(), is_active
    endpoint.save(update_fields=["url", "event_types", "description", "is_active"])
    log_staff_action(actor=actor, action="loyalty_site.webhook.changed",
                     data={"endpoint": endpoint.pk, "url": url, "events": event_types,
                           "active": is_active})
    return endpoint


@transaction.atomic
def roll_secret(*, actor, endpoint, now=None):
    """Give the endpoint a new secret; the old one still signs for PREVIOUS_SECRET_VALID."""
    now = now or timezone.now()
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
    endpoint.previous_secret, endpoint.previous_secret_until = endpoint.secret, now + PREVIOUS_SECRET_VALID
    endpoint.secret = new_secret()
    endpoint.save(update_fields=["secret", "previous_secret", "previous_secret_until"])
    log_staff_action(actor=actor, action="loyalty_site.webhook.secret_rolled",
                     data={"endpoint": endpoint.pk})
    return endpoint


@transaction.atomic
def send_test_event(*, actor, endpoint, now=None):
    """Queue a `ping` event for this endpoint alone. Raises ValidationError for an endpoint
    that is switched off (it would never be sent)."""
    if not endpoint.is_active:
        raise ValidationError(_("Switch the endpoint on before sending it a test event."))
    now = now or timezone.now()
    data = {"endpoint": {"id": endpoint.pk, "url": endpoint.url},
            "message": "A test event from Patron: your endpoint is reachable."}
    [delivery] = _write([endpoint.pk], [event(PING, data, now=now)])
    log_staff_action(actor=actor, action="loyalty_site.webhook.tested",
                     data={"endpoint": endpoint.pk, "delivery": str(delivery.pk)})
    return delivery


# --- Writing deliveries ----------------------------------------------------------------------


def event(event_type, data, *, now):
    """The payload of one event; docs/webhooks.md documents it."""
    return {"id": str(uuid.uuid4()), "type": str(event_type), "api_version": API_VERSION,
            "created_at": now.isoformat(), "data": data}


def publish(event_type, items, data_for, *, now=None):
    """Write one event per item in `items` for every active endpoint that listens to
    `event_type`, in the caller's transaction. `data_for(items)` gives each event's data, in
    order; it is called only when an endpoint listens, so an event nobody hears costs one query.
    `now` is when the change happened (the events' `created_at`). Returns the deliveries written."""
    # Endpoints are few: matched here rather than with a JSON lookup SQLite lacks (`manage.py up`).
    endpoints = [pk for pk, event_types in WebhookEndpoint.objects.filter(is_active=True)
                 .values_list("pk", "event_types") if str(event_type) in event_types]
    if not endpoints or not items:
        return []
    now = now or timezone.now()
    return _write(endpoints, [event(event_type, data, now=now) for data in data_for(items)])


def _write(endpoint_ids, events):
    """The deliveries of `events` to the endpoints, due at once (whatever time a backdated
    change carries), sent after the commit."""
    from .tasks import send_webhooks

    now = timezone.now()

    deliveries = WebhookDelivery.objects.bulk_create([
        WebhookDelivery(endpoint_id=endpoint_id, event_id=payload["id"], event_type=payload["type"],
                        payload=payload, created_at=now, next_attempt_at=now)
        for payload in events for endpoint_id in endpoint_ids
    ], batch_size=1000)
    ids = [str(delivery.pk) for delivery in deliveries]
    # With the queue down the business write still succeeds: send_due_webhooks sends them.
    for start in range(0, len(ids), SEND_BATCH):
        enqueue_on_commit(send_webhooks, ids[start:start + SEND_BATCH])
    return deliveries


def forget_member(*, member):
    """Blank a closing member's email and name (and a survey comment of theirs) in every
    payload that names them by card number; a delivery still waiting goes out without them.
    The events themselves stay."""
    deliveries = WebhookDelivery.objects.annotate(text=Cast("payload", TextField())).filter(
        text__contains=f'"{member.number}"').only("payload")
    for delivery in deliveries:
        _blank_member(delivery.payload, member.number)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(payload=delivery.payload)


def _blank_member(value, number):
    if isinstance(value, dict):
        if value.get("number") == number:
            value.update(email="", name="")
        if "comment" in value and (value.get("member") or {}).get("number") == number:
            value["comment"] = ""
        for item in value.values():
            _blank_member(item, number)
    elif isinstance(value, list):
        for item in value:
            _blank_member(item, number)


# --- Sending -------------------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A 3xx answer is recorded as it is, a failure: a receiver answers at its own URL, and a
    signed body is never re-posted somewhere the shop did not choose."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _excerpt(response):
    return response.read(RESPONSE_EXCERPT).decode("utf-8", errors="replace")


def _post(url, body, headers):
    """POST and return (status or None, response excerpt, error text)."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - http(s) only, checked on save
    try:
        with _opener.open(request, timeout=settings.WEBHOOK_TIMEOUT_SECONDS) as response:
            return response.status, _excerpt(response), ""
    except urllib.error.HTTPError as answer:
        with answer:
            return answer.code, _excerpt(answer), ""
    except urllib.error.URLError as error:
        return None, "", f"{type(error.reason).__name__}: {error.reason}"
    except (OSError, http.client.HTTPException) as error:  # timeouts, resets, bad answers
        return None, "", f"{type(error).__name__}: {error}"


def _attempt(delivery):
    """Send a locked delivery once and record how it went on the row and in its attempt log."""
    now = timezone.now()
    body = encode(delivery.payload)
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Patron-Webhooks/1",
        "Patron-Event": delivery.event_type,
        "Patron-Delivery": str(delivery.pk),
        SIGNATURE_HEADER: signature_header(delivery.endpoint, timestamp, body, now=now),
    }
    started = time.monotonic()
    status, excerpt, error = _post(delivery.endpoint.url, body, headers)
    if status is not None and not 200 <= status < 300:
        error = f"HTTP {status}"
    WebhookAttempt.objects.create(delivery=delivery, attempted_at=now, response_status=status,
                                  response_body=excerpt, error=error,
                                  duration_ms=int((time.monotonic() - started) * 1000))
    delivery.attempts += 1
    delivery.response_status, delivery.response_body, delivery.last_error = status, excerpt, error
    if not error:
        delivery.status, delivery.delivered_at = WebhookDelivery.Status.DELIVERED, timezone.now()
    elif delivery.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
        delivery.status = WebhookDelivery.Status.FAILED
    else:
        delivery.next_attempt_at = now + backoff(delivery.attempts)
    delivery.save(update_fields=["attempts", "status", "next_attempt_at", "response_status",
                                 "response_body", "last_error", "delivered_at"])
    return delivery


def send_due(*, ids=None, limit=SEND_BATCH):
    """Send due deliveries (of `ids` only, if given), at most `limit`, each in its own short
    transaction that holds its row lock; rows another worker holds are skipped. Returns how
    many were attempted."""
    attempted = 0
    while attempted < limit:
        with transaction.atomic():
            due = (WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
                   .select_related("endpoint")
                   .filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=timezone.now(),
                           endpoint__is_active=True))
            if ids is not None:
                due = due.filter(pk__in=ids)
            delivery = due.order_by("next_attempt_at").first()
            if delivery is None:
                break
            _attempt(delivery)
        attempted += 1
    return attempted


@transaction.atomic
def retry_delivery(*, actor, delivery, now=None):
    """Send a failed delivery again, from its first attempt's pause on, by a manager's decision.
    Returns False (and changes nothing) for a delivery that has not failed."""
    from .tasks import send_webhooks

    updated = WebhookDelivery.objects.filter(pk=delivery.pk, status=WebhookDelivery.Status.FAILED).update(
        status=WebhookDelivery.Status.PENDING, attempts=0, next_attempt_at=now or timezone.now())
    if updated:
        log_staff_action(actor=actor, action="loyalty_site.webhook.retried",
                         data={"delivery": str(delivery.pk), "event": delivery.event_type})
        enqueue_on_commit(send_webhooks, [str(delivery.pk)])
    return bool(updated)
