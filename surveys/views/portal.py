"""Answering a survey: from a one-click email link, a receipt link, or the member portal.

Thin: links are read by surveys.links, answers written by surveys.services. A GET of a
one-click link records an unconfirmed answer; HEAD records nothing (docs/surveys.md).
"""

from django.conf import settings
from django.core import signing
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from programs.views.portal import member_required

from .. import links, scoring, selectors, services
from ..forms import AnswerForm
from ..models import Answer


def _existing(invitation):
    """The invitation's answers as {question: value}, whatever their status, and the comment."""
    answers = list(invitation.answers.all())
    comment = getattr(invitation, "comment", None)
    return {a.question: a.value for a in answers}, (comment.text if comment else "")


def _answer_page(request, invitation, *, source, clicked=None, status=200):
    """The thank-you / answer page: GET shows it, POST saves the person's answers."""
    survey = invitation.survey
    values, comment = _existing(invitation)
    if clicked is not None:
        values.setdefault(clicked.question, clicked.value)
        if clicked.status != Answer.Status.CONFIRMED:
            values[clicked.question] = clicked.value
    saved = invitation.confirmed_at is not None
    closed = services.closing_reason(invitation)
    ask_consent = scoring.is_promoter(survey.kind, values, survey.nps_scale)
    form = AnswerForm(survey, initial={**values, "comment": comment}, ask_consent=ask_consent)
    if request.method == "POST":
        form = AnswerForm(survey, request.POST, ask_consent=True)
        if form.is_valid():
            try:
                services.submit_answers(
                    invitation=invitation, values=form.values(),
                    comment=form.cleaned_data["comment"],
                    testimonial_consent=form.cleaned_data.get("testimonial_consent", False),
                    source=source,
                )
            except services.AnswerRefused as refusal:
                form.add_error(None, refusal)
            else:
                return redirect(f"{request.path}?saved=1")
        status = 400
    return render(request, "portal/surveys/answer.html", {
        "survey": survey, "invitation": invitation, "form": form, "clicked": clicked,
        "saved": saved, "just_saved": request.GET.get("saved") == "1" and saved,
        "closed": closed, "edit_until": invitation.edit_until(),
        "dwell_seconds": settings.SURVEY_DWELL_SECONDS,
        # A promoter is shown the way to invite friends (the referrals page in the portal).
        "promoter": saved and scoring.is_promoter(survey.kind, values, survey.nps_scale),
    }, status=status)


def _link_error(request, reason, status=400):
    return render(request, "portal/surveys/link_error.html", {"reason": reason}, status=status)


def _too_many_writes(request, invitation):
    """Count a write to the invitation's answers; once there were too many, the page refusing
    it (429), else None."""
    if services.ANSWER_WRITES.is_exceeded(invitation.pk):
        return _link_error(request, _("This survey was answered too many times in a few minutes. "
                                      "Nothing was recorded; try again later."), 429)
    services.ANSWER_WRITES.hit(invitation.pk)
    return None


# Anyone holding the signed link may answer: the email went to the member alone. No session is
# needed, and a click must work in whatever browser the mail app opens.
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def answer(request, token):
    try:
        invitation_id, question, value = links.read_token(token)
    except signing.SignatureExpired:
        return _link_error(request, _("This survey link has expired. Nothing was recorded."), 410)
    except signing.BadSignature:
        return _link_error(request, _("This survey link is not valid (it may have been cut or "
                                      "changed). Nothing was recorded."))
    invitation = selectors.invitation_for_link(invitation_id)
    if invitation is None:
        return _link_error(request, _("This survey no longer exists. Nothing was recorded."), 404)
    if request.method == "HEAD":
        # Link checkers ask with HEAD; it says the page exists and records nothing.
        return HttpResponse()
    clicking = question is not None and request.method == "GET" and request.GET.get("saved") != "1"
    if request.method == "POST" or clicking:
        refused = _too_many_writes(request, invitation)
        if refused is not None:
            return refused
    source = Answer.Source.EMAIL if question else Answer.Source.RECEIPT
    if request.method == "POST" and request.POST.get("dwell") == "1":
        confirmed = question is not None and services.confirm_after_dwell(
            invitation=invitation, question=question, value=value)
        return JsonResponse({"confirmed": confirmed})
    clicked = None
    if clicking:
        try:
            clicked = services.record_click(invitation=invitation, question=question, value=value)
        except services.AnswerRefused as refusal:
            return _link_error(request, " ".join(refusal.messages), 200)
        invitation.refresh_from_db(fields=["confirmed_at"])
    return _answer_page(request, invitation, source=source, clicked=clicked)


@require_GET
@member_required
def my_surveys(request, member):
    return render(request, "portal/surveys/list.html", {
        "invitations": selectors.open_invitations(member),
    })


@require_http_methods(["GET", "POST"])
@member_required
def member_answer(request, member, invitation_id):
    invitation = selectors.member_invitation(member, invitation_id)
    if invitation is None:
        raise Http404
    if request.method == "POST":
        refused = _too_many_writes(request, invitation)
        if refused is not None:
            return refused
    return _answer_page(request, invitation, source=Answer.Source.PORTAL)
