"""Writes of the surveys app: inviting, sending, recording answers, following up.

Each function is one transaction and harmless when the state is already as asked. The rules a
click must pass before it counts are in docs/surveys.md ("Clicks, scanners and confirmation").
"""

from datetime import timedelta

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from loyalty_site.models import EmailCategory, User
from loyalty_site.roles import MANAGER
from loyalty_site.services import absolute_url, enqueue_on_commit, log_staff_action, queue_email
from programs.business import shop_name
from programs.ratelimit import RateLimit
from programs.services import grant_points

from . import links, scoring, signals
from .models import FACES, Answer, Comment, FollowUp, FollowUpNote, Invitation, Survey, Testimonial

# Answers, clicks and confirmations written for one invitation: a person answers and perhaps
# corrects themselves a few times; a script replaying its link should not write for ever.
ANSWER_WRITES = RateLimit("survey-answer", limit=20, window=600)

# What a promoter agrees to, stored word for word (in their language) with the time.
CONSENT_WORDING = gettext_lazy(
    "You may show my comment, with my first name, on {shop}'s website and in the shop."
)


def consent_wording():
    """The consent a promoter ticks, in the active language."""
    return CONSENT_WORDING.format(shop=shop_name())


class AnswerRefused(ValidationError):
    """An answer that cannot be recorded (closed survey, window over, bad value); nothing changed."""


# --- Inviting and sending ----------------------------------------------------------------------


def _recently_invited(member, days, now):
    return Invitation.objects.filter(member=member, created_at__gte=now - timedelta(days=days)).exists()


def invite(*, survey, member, send_after=None, purchase=None, store=None, now=None):
    """Invite a member to a survey, unless they were invited to any within the survey's
    `min_days_between`. `send_after` is when to email it (None: portal and receipt only).

    Returns the invitation, or None when the member was invited too recently.
    """
    now = now or timezone.now()
    if _recently_invited(member, survey.min_days_between, now):
        return None
    return Invitation.objects.create(
        survey=survey, member=member, purchase=purchase, store=store, created_at=now,
        expires_at=now + timedelta(days=survey.answer_days), send_after=send_after,
    )


def after_purchase_surveys():
    """The active surveys sent after a purchase, in id order. The purchase path reads them from
    the earning configuration's snapshot (programs.config), where apps.py registers this."""
    return list(Survey.objects.filter(is_active=True, send_after_purchase=True).order_by("pk"))


def invite_after_purchase(*, purchase, surveys, now=None):
    """Invite the purchase's member to each of `surveys` (the after-purchase ones), the email
    due after the survey's delay. Runs inside the purchase's transaction (programs.signals); the
    unique (survey, purchase) pair makes it once per purchase. Returns the invitations made."""
    now = now or timezone.now()
    made = []
    for survey in surveys:
        invitation = invite(survey=survey, member=purchase.member, purchase=purchase,
                            store=purchase.store, send_after=now + timedelta(hours=survey.delay_hours),
                            now=now)
        if invitation is not None:
            made.append(invitation)
    return made


@transaction.atomic
def invite_by_hand(*, survey, members, actor, segment=None, now=None):
    """Invite chosen members, or a segment's (`members` is then its members), now; the emails
    go out within the minute. Members invited to any survey within the survey's
    `min_days_between` are skipped.

    Returns (invited, throttled) counts. Raises ValidationError for an inactive survey.
    """
    now = now or timezone.now()
    if not survey.is_active:
        raise ValidationError(_("Switch the survey on before sending it."))
    members = list(members)
    # Two queries whatever the number of members: a segment may hold thousands.
    recent = set(Invitation.objects.filter(
        member__in=members, created_at__gte=now - timedelta(days=survey.min_days_between),
    ).values_list("member_id", flat=True))
    invited = Invitation.objects.bulk_create([
        Invitation(survey=survey, member=member, created_at=now, send_after=now,
                   expires_at=now + timedelta(days=survey.answer_days))
        for member in members if member.pk not in recent
    ])
    log_staff_action(actor=actor, action="surveys.invitations.sent_by_hand", data={
        "survey": survey.pk, "segment": getattr(segment, "pk", None),
        "invited": len(invited), "throttled": len(members) - len(invited),
    })
    from .tasks import send_due_invitations

    enqueue_on_commit(send_due_invitations)
    return len(invited), len(members) - len(invited)


def _email_links(invitation):
    """The first question's options as (label, signed link), one link per answer."""
    survey = invitation.survey
    key, _text, (low, high) = survey.questions()[0]
    return [(FACES[value][0] if survey.kind == Survey.Kind.FACES else str(value),
             links.answer_url(invitation, key, value)) for value in range(low, high + 1)]


def _queue_invitation_email(invitation, *, reminder):
    user = invitation.member.user
    survey = invitation.survey
    with translation.override(user.language):
        question = survey.questions()[0][1]
    return queue_email(
        to=user.email, template="survey_invitation", category=EmailCategory.SURVEYS, user=user,
        dedupe_key=f"survey-{'reminder' if reminder else 'invitation'}:{invitation.pk}",
        context={
            "survey": survey, "invitation": invitation, "question": question,
            "options": _email_links(invitation), "reminder": reminder,
            "more_questions": len(survey.questions()) > 1,
            "faces": survey.kind == Survey.Kind.FACES, "points": survey.points,
            "expires_on": timezone.localtime(invitation.expires_at).date(),
        },
    )


@transaction.atomic
def send_invitation(*, invitation_id, now=None):
    """Email one invitation once. Returns the outbox row, or None when it was sent already or
    is skipped (survey off, the member does not want survey emails); the reason is kept."""
    now = now or timezone.now()
    # The conditional update is the claim: of two workers sending it, one wins.
    claimed = Invitation.objects.filter(
        pk=invitation_id, sent_at__isnull=True, skipped="", send_after__isnull=False,
    ).update(sent_at=now)
    if not claimed:
        return None
    invitation = Invitation.objects.select_related("survey", "member__user").get(pk=invitation_id)
    skipped = ""
    if not invitation.survey.is_active:
        skipped = Invitation.Skipped.SURVEY_OFF
    elif not invitation.member.user.email:
        skipped = Invitation.Skipped.NO_EMAIL
    elif not invitation.member.user.wants_email(EmailCategory.SURVEYS):
        skipped = Invitation.Skipped.OPTED_OUT
    if skipped:
        Invitation.objects.filter(pk=invitation_id).update(sent_at=None, skipped=skipped)
        return None
    return _queue_invitation_email(invitation, reminder=False)


def due_invitation_ids(*, now=None, limit=500):
    now = now or timezone.now()
    return list(Invitation.objects.filter(sent_at__isnull=True, skipped="", send_after__lte=now)
                .order_by("send_after").values_list("pk", flat=True)[:limit])


@transaction.atomic
def send_reminder(*, invitation_id, now=None):
    """Remind once, if the invitation was emailed, is unanswered and still open."""
    now = now or timezone.now()
    claimed = Invitation.objects.filter(
        pk=invitation_id, sent_at__isnull=False, reminder_sent_at__isnull=True,
        confirmed_at__isnull=True, expires_at__gt=now,
    ).update(reminder_sent_at=now)
    if not claimed:
        return None
    invitation = Invitation.objects.select_related("survey", "member__user").get(pk=invitation_id)
    if not invitation.survey.is_active:
        return None
    return _queue_invitation_email(invitation, reminder=True)


def reminder_due_ids(*, now=None, limit=500):
    now = now or timezone.now()
    return list(Invitation.objects.filter(
        sent_at__lte=now - timedelta(days=settings.SURVEY_REMINDER_DAYS),
        reminder_sent_at__isnull=True, confirmed_at__isnull=True, expires_at__gt=now,
        survey__is_active=True,
    ).order_by("sent_at").values_list("pk", flat=True)[:limit])


# --- Answering ---------------------------------------------------------------------------------


def _check_value(survey, question, value):
    scales = {key: scale for key, _text, scale in survey.questions()}
    if question not in scales:
        raise AnswerRefused({question: _("This survey does not ask that question.")})
    low, high = scales[question]
    if not isinstance(value, int) or not low <= value <= high:
        raise AnswerRefused({question: _("Choose an answer from %(low)s to %(high)s.")
                             % {"low": low, "high": high}})


def closing_reason(invitation, now=None):
    """Why the invitation can take no answer or change now, or None when it can."""
    now = now or timezone.now()
    if not invitation.survey.is_active:
        return _("This survey has ended. Thank you all the same.")
    if invitation.confirmed_at is None and not invitation.is_open(now):
        return _("This survey closed on %(date)s.") % {
            "date": formats.date_format(timezone.localtime(invitation.expires_at).date())}
    edit_until = invitation.edit_until()
    if edit_until is not None and now > edit_until:
        return _("Your answer is saved and can no longer be changed. Thank you!")
    return None


def _check_open(invitation, now):
    reason = closing_reason(invitation, now)
    if reason is not None:
        raise AnswerRefused(reason)


def _locked(invitation):
    return Invitation.objects.select_for_update(of=("self",)).select_related(
        "survey", "member__user").get(pk=invitation.pk)


@transaction.atomic
def record_click(*, invitation, question, value, now=None):
    """Record a one-click answer from an email link as UNCONFIRMED, or note the click.

    - A click on an answer already confirmed changes nothing (the page offers to edit it).
    - A click on another option within SURVEY_BURST_SECONDS of the last click on this question
      marks the answer DISCARDED: a link scanner opening every option, not a person. A click
      after a quiet spell starts afresh.
    Returns the answer. Raises AnswerRefused when the survey or its window is closed.
    """
    now = now or timezone.now()
    invitation = _locked(invitation)
    survey = invitation.survey
    _check_value(survey, question, value)
    _check_open(invitation, now)
    answer = Answer.objects.filter(invitation=invitation, question=question).first()
    if answer is None:
        return Answer.objects.create(
            invitation=invitation, question=question, value=value, source=Answer.Source.EMAIL,
            scale=scoring.scale_name(survey.kind, question, survey.nps_scale),
            clicked_at=now, created_at=now, updated_at=now,
        )
    if answer.status == Answer.Status.CONFIRMED:
        return answer
    in_burst = now - answer.clicked_at < timedelta(seconds=settings.SURVEY_BURST_SECONDS)
    if in_burst and (answer.value != value or answer.status == Answer.Status.DISCARDED):
        answer.status = Answer.Status.DISCARDED
    else:
        answer.status, answer.value = Answer.Status.UNCONFIRMED, value
    answer.clicked_at = answer.updated_at = now
    answer.save(update_fields=["status", "value", "clicked_at", "updated_at"])
    return answer


@transaction.atomic
def confirm_after_dwell(*, invitation, question, value, now=None):
    """Confirm an unconfirmed click because its page stayed open SURVEY_DWELL_SECONDS (the
    page's script posts back). Returns True when this confirmed it; False when the answer is
    not that unconfirmed value any more (discarded, changed) or the time has not passed."""
    now = now or timezone.now()
    invitation = _locked(invitation)
    answer = Answer.objects.filter(invitation=invitation, question=question, value=value,
                                   status=Answer.Status.UNCONFIRMED).first()
    if answer is None or now - answer.clicked_at < timedelta(seconds=settings.SURVEY_DWELL_SECONDS):
        return False
    answer.status, answer.updated_at = Answer.Status.CONFIRMED, now
    answer.save(update_fields=["status", "updated_at"])
    _after_confirming(invitation, now)
    return True


@transaction.atomic
def submit_answers(*, invitation, values, comment="", testimonial_consent=False,
                   source=Answer.Source.EMAIL, now=None, notify_staff=True):
    """Save a person's answers (a button press: confirmed at once), with an optional comment.

    `values` maps question keys to integers; the first question is required. Inside the edit
    window the score and comment may change. A promoter who ticks the consent box gives their
    comment as a testimonial, recorded with the wording shown and the time. `notify_staff=False`
    opens a follow-up without emailing anyone (the demo's answers from months ago).
    Raises AnswerRefused (nothing written) for a closed survey, an ended window or a bad value.
    """
    now = now or timezone.now()
    invitation = _locked(invitation)
    survey = invitation.survey
    _check_open(invitation, now)
    first = survey.questions()[0][0]
    if values.get(first) is None:
        raise AnswerRefused({first: _("Choose an answer.")})
    for question, value in values.items():
        if value is not None:
            _check_value(survey, question, value)
    for question, value in values.items():
        if value is None:
            continue
        Answer.objects.update_or_create(
            invitation=invitation, question=question,
            defaults={"value": value, "status": Answer.Status.CONFIRMED, "updated_at": now,
                      "band_version": scoring.BAND_VERSION,
                      "scale": scoring.scale_name(survey.kind, question, survey.nps_scale)},
            create_defaults={"value": value, "status": Answer.Status.CONFIRMED, "source": source,
                             "created_at": now, "updated_at": now,
                             "scale": scoring.scale_name(survey.kind, question, survey.nps_scale)},
        )
    comment = (comment or "").strip()
    if comment:
        Comment.objects.update_or_create(invitation=invitation,
                                         defaults={"text": comment, "updated_at": now})
    else:
        Comment.objects.filter(invitation=invitation).delete()
    _after_confirming(invitation, now, notify_staff=notify_staff)
    response = response_of(invitation)
    if (testimonial_consent and comment
            and scoring.is_promoter(survey.kind, response, survey.nps_scale)):
        Testimonial.objects.update_or_create(invitation=invitation, defaults={
            "text": comment, "consented_at": now, "language": translation.get_language() or "",
            "consent_wording": consent_wording(),
            "status": Testimonial.Status.PENDING, "reviewed_by": None, "reviewed_at": None,
        })
    return invitation


def response_of(invitation):
    """The invitation's confirmed answers as {question: value}."""
    return dict(invitation.answers.filter(status=Answer.Status.CONFIRMED)
                .values_list("question", "value"))


def _after_confirming(invitation, now, *, notify_staff=True):
    """What a confirmed answer sets off: the invitation counts as answered, points once, a
    follow-up for an unhappy answer. Called with the invitation locked."""
    survey = invitation.survey
    if invitation.confirmed_at is None:
        invitation.confirmed_at = now
        invitation.save(update_fields=["confirmed_at"])
    if survey.points and survey.points_program_id:
        # Once per invitation whatever the answer; the cause key makes a repeat a no-op.
        grant_points(member=invitation.member, program=survey.points_program, points=survey.points,
                     cause_key=f"survey-invitation:{invitation.pk}",
                     reason=_("Thank you for answering our survey"), now=now)
    answers = response_of(invitation)
    if scoring.needs_follow_up(survey.kind, answers, survey.nps_scale):
        _open_follow_up(invitation, now, notify_staff=notify_staff)
    signals.survey_answered.send(sender=Invitation, invitation=invitation, answers=answers, now=now)


def _open_follow_up(invitation, now, *, notify_staff):
    survey = invitation.survey
    follow_up, created = FollowUp.objects.get_or_create(invitation=invitation, defaults={
        "owner": survey.follow_up_owner, "created_at": now,
        "deadline": now + timedelta(days=survey.follow_up_days),
    })
    if not created or not notify_staff:
        return follow_up
    if survey.follow_up_owner is not None:
        recipients = [survey.follow_up_owner]
    else:
        recipients = list(User.objects.filter(groups__name=MANAGER, is_active=True).order_by("pk"))
    for person in recipients:
        queue_email(
            to=person.email, template="survey_follow_up", category=EmailCategory.ESSENTIAL,
            user=person, dedupe_key=f"survey-follow-up:{follow_up.pk}:{person.pk}",
            context={"follow_up": follow_up, "invitation": invitation, "survey": survey,
                     "url": absolute_url(reverse("staff:survey_follow_up", args=[follow_up.pk]))},
        )
    return follow_up


@transaction.atomic
def forget_member(*, member, now=None):
    """A member closes their account: their comments and testimonials go (they are their own
    words), and nothing more is emailed. Scores stay, as they count in totals but name no one;
    staff notes on a follow-up stay with the follow-up."""
    now = now or timezone.now()
    Comment.objects.filter(invitation__member=member).delete()
    Testimonial.objects.filter(invitation__member=member).delete()
    Invitation.objects.filter(member=member, sent_at__isnull=True).update(send_after=None)
    Invitation.objects.filter(member=member, expires_at__gt=now).update(expires_at=now)


# --- Staff ------------------------------------------------------------------------------------


@transaction.atomic
def save_survey(*, survey, actor):
    """Save a survey made or changed on the staff page, and log who did it."""
    created = survey.pk is None
    survey.save()
    log_staff_action(actor=actor, action=f"surveys.survey.{'created' if created else 'changed'}",
                     data={"survey": survey.pk, "name": survey.name, "active": survey.is_active})
    return survey


@transaction.atomic
def record_follow_up(*, follow_up, actor, note="", status=None, owner=None, now=None):
    """Write down what was done about a follow-up, and move its status or owner.

    Raises ValidationError when nothing was given.
    """
    now = now or timezone.now()
    note = (note or "").strip()
    follow_up = FollowUp.objects.select_for_update().get(pk=follow_up.pk)
    if not note and status in (None, follow_up.status) and owner in (None, follow_up.owner):
        raise ValidationError({"note": _("Write what was done, or change the status or owner.")})
    if note:
        FollowUpNote.objects.create(follow_up=follow_up, author=actor, text=note, created_at=now)
    if owner is not None:
        follow_up.owner = owner
    if status is not None and status != follow_up.status:
        follow_up.status = status
        follow_up.closed_at = now if status == FollowUp.Status.DONE else None
    follow_up.save(update_fields=["owner", "status", "closed_at"])
    log_staff_action(actor=actor, action="surveys.follow_up.recorded", reason=note,
                     data={"follow_up": follow_up.pk, "status": follow_up.status,
                           "owner": follow_up.owner_id})
    return follow_up


@transaction.atomic
def review_testimonial(*, testimonial, actor, approve, now=None):
    """Approve a testimonial for use, or set it aside; harmless when already so."""
    now = now or timezone.now()
    status = Testimonial.Status.APPROVED if approve else Testimonial.Status.REJECTED
    updated = Testimonial.objects.filter(pk=testimonial.pk).exclude(status=status).update(
        status=status, reviewed_by=actor, reviewed_at=now)
    if updated:
        log_staff_action(actor=actor, action=f"surveys.testimonial.{status}",
                         data={"testimonial": testimonial.pk})
    return bool(updated)
