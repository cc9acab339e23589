"""Writes that span the apps: the email outbox, the staff log, staff accounts, preferences."""

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from kombu.exceptions import OperationalError as QueueUnreachable

from .models import OPTIONAL_EMAIL_CATEGORIES, Consent, EmailCategory, OutboxEmail, StaffAction, User
from .roles import STAFF_ROLES

log = logging.getLogger(__name__)

UNSUBSCRIBE_SALT = "patron.unsubscribe"
# A claim older than this belongs to a worker that died mid-send; the flush task frees it.
STALE_CLAIM = timedelta(minutes=10)


class OutboxSendFailed(Exception):
    """Sending failed; the email stays in the outbox and is tried again at `retry_at`."""

    def __init__(self, message, *, retry_at=None):
        super().__init__(message)
        self.retry_at = retry_at


# --- The outbox ----------------------------------------------------------------------------


def enqueue_on_commit(task, *args):
    """Queue `task` once the transaction commits, for work that a periodic task sweeps up too
    (the outbox flush, the surveys' due invitations).

    With the broker (Redis) down, what the transaction wrote is committed already: a purchase
    must not turn into an error page because its email cannot be queued. The failure is logged
    and the sweep does the work once the broker is back (docs/operations.md).
    """
    def enqueue():
        try:
            task.delay(*args)
        except QueueUnreachable:
            log.warning("The task queue is unreachable; %s%r is left to its periodic sweep.",
                        task.name, args, exc_info=True)

    transaction.on_commit(enqueue)


def absolute_url(path):
    return f"{settings.SITE_URL}{path}"


def unsubscribe_token(user, category):
    return signing.dumps({"u": user.pk, "c": str(category)}, salt=UNSUBSCRIBE_SALT, compress=True)


def read_unsubscribe_token(token):
    """Return (user, category) for a token, or raise signing.BadSignature / User.DoesNotExist."""
    data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    if data.get("c") not in OPTIONAL_EMAIL_CATEGORIES:
        raise signing.BadSignature("Unknown email category.")
    return User.objects.get(pk=data["u"]), EmailCategory(data["c"])


def queue_email(*, to, template, context, category, user=None, dedupe_key=None, send=True):
    """Render an email in the recipient's language and write it to the outbox.

    `template` names three templates under templates/emails/: `<template>_subject.txt`,
    `<template>_message.txt` and `<template>_message.html`. Optional categories obey the user's
    preferences and carry an unsubscribe link and a one-click `List-Unsubscribe` header.

    Returns the outbox row, or None when the user has opted out of `category` or an email with
    the same `dedupe_key` was queued before. Sending happens after the caller's transaction
    commits; a job that writes many emails passes `send=False` and hands the rows to
    `send_outbox_emails` at the end, which queues them in batches.
    """
    if user is not None and not user.wants_email(category):
        return None
    # Looked up before rendering: a job that runs again should cost one query per email.
    if dedupe_key and OutboxEmail.objects.filter(dedupe_key=dedupe_key).exists():
        return None
    # Imported here: programs builds on this module (the staff log), not the other way round.
    from programs.business import shop_name

    language = user.language if user is not None else translation.get_language()
    headers = {}
    context = {"shop_name": shop_name(), "site_url": settings.SITE_URL, "user": user,
               **context}
    if category != EmailCategory.ESSENTIAL and user is not None:
        unsubscribe_url = absolute_url(
            reverse("portal:unsubscribe", args=[unsubscribe_token(user, category)])
        )
        context["unsubscribe_url"] = unsubscribe_url
        context["preferences_url"] = absolute_url(reverse("portal:email_preferences"))
        headers["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    with translation.override(language):
        subject = render_to_string(f"emails/{template}_subject.txt", context)
        body_text = render_to_string(f"emails/{template}_message.txt", context)
        body_html = render_to_string(f"emails/{template}_message.html", context)
    return write_to_outbox(
        kind=template, category=category, to=to, user=user, subject=subject,
        body_text=body_text, body_html=body_html, headers=headers, dedupe_key=dedupe_key, send=send,
    )


def write_to_outbox(*, kind, category, to, subject, body_text, body_html="", user=None,
                    headers=None, dedupe_key=None, send=True):
    """Write an already rendered email to the outbox; send it once the transaction commits
    (unless `send` is False: see queue_email)."""
    from .tasks import send_outbox_email

    email = OutboxEmail(
        kind=kind, category=category, user=user, to_email=to,
        from_email=settings.DEFAULT_FROM_EMAIL,
        subject=" ".join(subject.split()), body_text=body_text.strip(),
        body_html=body_html.strip(), headers=headers or {}, dedupe_key=dedupe_key,
    )
    try:
        with transaction.atomic():
            email.save()
    except IntegrityError:
        if dedupe_key and OutboxEmail.objects.filter(dedupe_key=dedupe_key).exists():
            return None
        raise
    if send:
        enqueue_on_commit(send_outbox_email, email.pk)
    return email


# Emails per task when a job hands many to the queue at once: one message on the broker per
# batch rather than per email.
SEND_BATCH = 100


def send_outbox_emails(emails):
    """Queue the sending of outbox rows written with send=False, in batches, after commit."""
    from .tasks import send_outbox_batch

    ids = [email.pk for email in emails if email is not None]
    for start in range(0, len(ids), SEND_BATCH):
        enqueue_on_commit(send_outbox_batch, ids[start:start + SEND_BATCH])


def retry_delay(attempts):
    """Back-off after the n-th failed attempt: 1, 2, 4, 8 … minutes, at most six hours."""
    return timedelta(minutes=min(2 ** (attempts - 1), 360))


def send_outbox_email(*, email_id):
    """Send one outbox email unless someone else has sent or is sending it.

    Returns True when this call sent it, False when there was nothing to do. Raises
    OutboxSendFailed when the mail server refused; the row then waits for its next attempt, or
    is marked failed after OUTBOX_MAX_ATTEMPTS.
    """
    now = timezone.now()
    # The conditional update is the claim: of two workers running this at once, one wins.
    claimed = OutboxEmail.objects.filter(pk=email_id, status=OutboxEmail.Status.PENDING).update(
        status=OutboxEmail.Status.SENDING, claimed_at=now, attempts=F("attempts") + 1
    )
    if not claimed:
        return False
    email = OutboxEmail.objects.get(pk=email_id)
    message = EmailMultiAlternatives(
        subject=email.subject, body=email.body_text, from_email=email.from_email,
        to=[email.to_email], headers={"Message-ID": email.message_id, **email.headers},
    )
    if email.body_html:
        message.attach_alternative(email.body_html, "text/html")
    try:
        message.send()
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        if email.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
            OutboxEmail.objects.filter(pk=email.pk).update(
                status=OutboxEmail.Status.FAILED, last_error=error, claimed_at=None
            )
            raise OutboxSendFailed(error) from exc
        retry_at = timezone.now() + retry_delay(email.attempts)
        OutboxEmail.objects.filter(pk=email.pk).update(
            status=OutboxEmail.Status.PENDING, last_error=error, next_attempt_at=retry_at,
            claimed_at=None,
        )
        raise OutboxSendFailed(error, retry_at=retry_at) from exc
    OutboxEmail.objects.filter(pk=email.pk).update(
        status=OutboxEmail.Status.SENT, sent_at=timezone.now(), last_error=""
    )
    return True


def release_stale_claims(*, now=None):
    """Give emails claimed by a worker that died back to the queue. Returns how many."""
    now = now or timezone.now()
    return OutboxEmail.objects.filter(
        status=OutboxEmail.Status.SENDING, claimed_at__lt=now - STALE_CLAIM
    ).update(status=OutboxEmail.Status.PENDING, claimed_at=None, next_attempt_at=now)


def retry_failed_email(*, email, actor):
    """Put a failed email back in the queue, by a member of staff's decision."""
    with transaction.atomic():
        updated = OutboxEmail.objects.filter(pk=email.pk, status=OutboxEmail.Status.FAILED).update(
            status=OutboxEmail.Status.PENDING, attempts=0, next_attempt_at=timezone.now()
        )
        if updated:
            log_staff_action(actor=actor, action="loyalty_site.outbox.retried",
                             data={"email": email.pk, "to": email.to_email})
            from .tasks import send_outbox_email as send_task

            enqueue_on_commit(send_task, email.pk)
    return bool(updated)


# --- Staff ---------------------------------------------------------------------------------


def log_staff_action(*, actor, action, reason="", data=None):
    """Record who did what and why. `action` is dotted: `<app>.<thing>.<verb>`."""
    return StaffAction.objects.create(actor=actor, action=action, reason=reason, data=data or {})


@transaction.atomic
def add_staff_member(*, actor, email, name, role):
    """Give a person a staff role, creating their account if needed.

    Returns (user, created). The new account has no password: the caller sends the invitation.
    Raises ValidationError for an unknown role or a person who already has a staff role.
    """
    from allauth.account.models import EmailAddress

    if role not in STAFF_ROLES:
        raise ValidationError({"role": _("Choose manager or cashier.")})
    user = User.objects.filter(email__iexact=email).first()
    created = user is None
    if created:
        user = User.objects.create_user(email=email, name=name)
    elif user.groups.filter(name__in=STAFF_ROLES).exists():
        raise ValidationError({"email": _("This person is already on the team.")})
    EmailAddress.objects.get_or_create(
        user=user, email__iexact=email,
        defaults={"email": user.email, "verified": True, "primary": True},
    )
    user.groups.add(Group.objects.get(name=role))
    log_staff_action(actor=actor, action="loyalty_site.staff.added",
                     data={"user": user.pk, "email": user.email, "role": role})
    return user, created


def send_staff_invitation(*, user, inviter):
    """Email a new member of staff a link to choose their password (valid for three days)."""
    from allauth.account.forms import default_token_generator
    from allauth.account.utils import user_pk_to_url_str

    path = reverse("account_reset_password_from_key", kwargs={"uidb36": "UID", "key": "KEY"})
    key = f"{user_pk_to_url_str(user)}-{default_token_generator.make_token(user)}"
    return queue_email(
        to=user.email, template="staff_invitation", category=EmailCategory.ESSENTIAL, user=user,
        context={
            "inviter": inviter,
            "set_password_url": absolute_url(path.replace("UID-KEY", key)),
            "sign_in_url": absolute_url(reverse("staff:login")),
        },
    )


@transaction.atomic
def remove_staff_member(*, actor, user):
    """Take away every staff role; the person's member account, if any, stays."""
    if user == actor:
        raise ValidationError(_("You cannot remove yourself from the team."))
    roles = list(user.groups.filter(name__in=STAFF_ROLES).values_list("name", flat=True))
    user.groups.remove(*Group.objects.filter(name__in=STAFF_ROLES))
    log_staff_action(actor=actor, action="loyalty_site.staff.removed",
                     data={"user": user.pk, "email": user.email, "roles": roles})


# --- A person's own settings ---------------------------------------------------------------


def set_language(*, user, language):
    if language not in dict(settings.LANGUAGES):
        raise ValidationError({"language": _("Choose one of the offered languages.")})
    User.objects.filter(pk=user.pk).update(language=language)
    user.language = language


@transaction.atomic
def update_email_preferences(*, user, reminders, offers, surveys, wording=None,
                             source="email_preferences"):
    """Save which optional emails the person wants.

    A category switched on records a consent with the words the person was shown,
    `wording[category]`; one switched off withdraws it.
    """
    wanted = {EmailCategory.REMINDERS: reminders, EmailCategory.OFFERS: offers,
              EmailCategory.SURVEYS: surveys}
    before = User.objects.select_for_update().filter(pk=user.pk).values(
        *[f"emails_{category}" for category in wanted]).get()
    User.objects.filter(pk=user.pk).update(
        emails_reminders=reminders, emails_offers=offers, emails_surveys=surveys
    )
    for category, on in wanted.items():
        setattr(user, f"emails_{category}", on)
        if on and not before[f"emails_{category}"]:
            give_consent(user=user, kind=f"email_{category}",
                         wording=(wording or {}).get(category, ""), source=source)
        elif not on:
            withdraw_consent(user=user, kind=f"email_{category}")


@transaction.atomic
def unsubscribe(*, user, category):
    """Stop one optional category of email; harmless when already stopped."""
    User.objects.filter(pk=user.pk).update(**{f"emails_{category}": False})
    setattr(user, f"emails_{category}", False)
    withdraw_consent(user=user, kind=f"email_{category}")


@transaction.atomic
def give_consent(*, user, kind, wording, source, now=None):
    """Record that the person consents to `kind` with the words they were shown (in the active
    language), replacing a consent of the same kind given earlier with other words. Returns the
    consent in force. Raises ValueError without wording: a consent without its words proves
    nothing."""
    wording = str(wording).strip()
    if not wording:
        raise ValueError("A consent needs the wording the person was shown.")
    now = now or timezone.now()
    current = Consent.objects.select_for_update().filter(user=user, kind=kind,
                                                         withdrawn_at__isnull=True).first()
    if current is not None and current.wording == wording:
        return current
    if current is not None:
        Consent.objects.filter(pk=current.pk).update(withdrawn_at=now)
    return Consent.objects.create(user=user, kind=kind, wording=wording, source=source,
                                  language=translation.get_language() or settings.LANGUAGE_CODE,
                                  given_at=now)


def withdraw_consent(*, user, kind, now=None):
    """Note that the person withdrew their consent to `kind`; harmless when none is in force."""
    return Consent.objects.filter(user=user, kind=kind, withdrawn_at__isnull=True).update(
        withdrawn_at=now or timezone.now())
