"""Reads of the surveys app: scores, trends, comments, queues, a member's open invitations.

Scores count CONFIRMED answers only, dated by when the invitation was answered, and never mix
NPS scales: an NPS figure is always for one scale. The dashboard calls `nps_summary`,
`index_summary` and `index_trend`; each returns plain dicts (see `summary_dict`).
"""

from collections import defaultdict
from datetime import date, datetime, time

from django.conf import settings
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import TruncMonth, TruncWeek
from django.utils import timezone

from programs.models import Member

from . import scoring
from .models import Answer, FollowUp, Invitation, Survey, Testimonial

PERIODS = {"week": TruncWeek, "month": TruncMonth}


def _moment(value):
    """A date means the shop's midnight at its start; a datetime is taken as it is."""
    if value is None or isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return timezone.make_aware(datetime.combine(value, time.min))
    raise TypeError(f"expected a date or datetime, got {value!r}")


def _in_period(queryset, field, period_start, period_end):
    if period_start is not None:
        queryset = queryset.filter(**{f"{field}__gte": _moment(period_start)})
    if period_end is not None:
        queryset = queryset.filter(**{f"{field}__lt": _moment(period_end)})
    return queryset


def _of_tier(queryset, member_field, tier):
    """Only members whose membership is in `tier` now (a tier at answer time is not kept)."""
    if tier is None:
        return queryset
    return queryset.filter(**{f"{member_field}__in": Member.objects.filter(memberships__tier=tier)})


def confirmed_answers(*, kind=None, survey=None, period_start=None, period_end=None, store=None,
                      nps_scale=None, tier=None):
    """Confirmed answers in [period_start, period_end), by survey or by kind, for one store and
    the members now in one tier."""
    answers = Answer.objects.filter(status=Answer.Status.CONFIRMED,
                                    band_version=scoring.BAND_VERSION)
    if survey is not None:
        answers = answers.filter(invitation__survey=survey)
        kind, nps_scale = survey.kind, survey.nps_scale
    else:
        answers = answers.filter(invitation__survey__kind=kind)
    if kind == scoring.NPS:
        answers = answers.filter(scale=nps_scale or "0-10")
    answers = _in_period(answers, "invitation__confirmed_at", period_start, period_end)
    if store is not None:
        answers = answers.filter(invitation__store=store)
    return _of_tier(answers, "invitation__member", tier)


def group_responses(rows):
    """Rows of (invitation id, question, value) → one {question: value} per invitation."""
    by_invitation = defaultdict(dict)
    for invitation_id, question, value in rows:
        by_invitation[invitation_id][question] = value
    return list(by_invitation.values())


def _score(kind, answers, nps_scale):
    rows = answers.order_by().values_list("invitation_id", "question", "value")
    return scoring.score(kind, group_responses(rows), nps_scale or "0-10").with_minimum(
        settings.SURVEY_MIN_SAMPLE)


def summary_dict(result):
    """A Score as the dashboard reads it: {"kind", "score" (None below the minimum sample),
    "value" (always, for staff who know what a small sample means), "n", "low", "high",
    "enough", "parts", "shares", "min_sample"}."""
    return {
        "kind": result.kind, "score": result.value if result.enough else None,
        "value": result.value, "n": result.n, "low": result.low, "high": result.high,
        "enough": result.enough, "parts": result.parts, "shares": result.shares,
        "min_sample": settings.SURVEY_MIN_SAMPLE,
    }


def index_summary(kind, period_start=None, period_end=None, store=None, nps_scale="0-10",
                  tier=None):
    """One loyalty index over every survey of `kind` (nps, csat, ces, faces, cli,
    secure_customer) answered in [period_start, period_end) — dates or aware datetimes — at
    `store` (None: all), for the members now in `tier` (None: all). Two queries at most."""
    answers = confirmed_answers(kind=kind, period_start=period_start, period_end=period_end,
                                store=store, nps_scale=nps_scale, tier=tier)
    return summary_dict(_score(kind, answers, nps_scale))


def nps_summary(period_start=None, period_end=None, store=None, scale="0-10", tier=None):
    """NPS on one scale: score, promoters/passives/detractors (counts in "parts", percentages
    in "shares"), sample size and 95 % interval."""
    return index_summary(scoring.NPS, period_start, period_end, store, nps_scale=scale, tier=tier)


def index_trend(kind=None, period_start=None, period_end=None, store=None, by="month",
                nps_scale="0-10", survey=None, tier=None):
    """[(first day of the week or month, summary_dict)] in date order, one query."""
    answers = confirmed_answers(kind=kind, survey=survey, period_start=period_start,
                                period_end=period_end, store=store, nps_scale=nps_scale, tier=tier)
    if survey is not None:
        kind, nps_scale = survey.kind, survey.nps_scale
    rows = (answers.annotate(bucket=PERIODS[by]("invitation__confirmed_at"))
            .order_by().values_list("bucket", "invitation_id", "question", "value"))
    buckets = defaultdict(list)
    for bucket, *row in rows:
        buckets[timezone.localtime(bucket).date()].append(row)
    return [
        (day, summary_dict(scoring.score(kind, group_responses(buckets[day]), nps_scale)
                           .with_minimum(settings.SURVEY_MIN_SAMPLE)))
        for day in sorted(buckets)
    ]


# --- One survey, for its results page ------------------------------------------------------------


def survey_results(survey, *, period_start=None, period_end=None, store=None, tier=None):
    """The survey's score, the distribution of its first question's answers, and how many
    clicks are still unconfirmed or were discarded (shown apart, never counted)."""
    answers = confirmed_answers(survey=survey, period_start=period_start,
                                period_end=period_end, store=store, tier=tier)
    result = summary_dict(_score(survey.kind, answers, survey.nps_scale))
    first, _text, (low, high) = survey.questions()[0]
    counts = dict(answers.filter(question=first).order_by().values_list("value")
                  .annotate(n=Count("pk")))
    total = sum(counts.values())
    result["distribution"] = [
        {"value": v, "n": counts.get(v, 0), "share": round(100 * counts.get(v, 0) / total, 1)
         if total else 0} for v in range(low, high + 1)
    ]
    others = Answer.objects.filter(invitation__survey=survey, question=first).exclude(
        status=Answer.Status.CONFIRMED)
    if store is not None:
        others = others.filter(invitation__store=store)
    others = _of_tier(others, "invitation__member", tier)
    result["held_apart"] = others.aggregate(
        unconfirmed=Count("pk", filter=Q(status=Answer.Status.UNCONFIRMED)),
        discarded=Count("pk", filter=Q(status=Answer.Status.DISCARDED)),
    )
    return result


def survey_comments(survey, *, period_start=None, period_end=None, store=None, tier=None,
                    limit=50):
    """The latest answered invitations with a comment, with their answers and member."""
    invitations = (Invitation.objects.filter(survey=survey, comment__isnull=False,
                                             confirmed_at__isnull=False)
                   .select_related("comment", "member__user", "store")
                   .prefetch_related("answers").order_by("-confirmed_at"))
    invitations = _in_period(invitations, "confirmed_at", period_start, period_end)
    if store is not None:
        invitations = invitations.filter(store=store)
    return _of_tier(invitations, "member", tier)[:limit]


def export_rows(survey):
    """Every answered invitation of a survey with its answers, oldest first, for CSV."""
    return (Invitation.objects.filter(survey=survey, confirmed_at__isnull=False)
            .select_related("member", "store", "comment").prefetch_related("answers")
            .order_by("confirmed_at"))


def surveys_overview():
    """Every survey with its invitation and answer counts."""
    return Survey.objects.annotate(
        invited=Count("invitations", distinct=True),
        answered=Count("invitations", filter=Q(invitations__confirmed_at__isnull=False),
                       distinct=True),
    ).order_by("-is_active", "name")


# --- Staff queues -------------------------------------------------------------------------------


def follow_up_queue(*, include_done=False):
    follow_ups = FollowUp.objects.select_related(
        "owner", "invitation__survey", "invitation__member__user", "invitation__store",
        "invitation__comment",
    ).prefetch_related("invitation__answers").order_by("status", "deadline")
    if not include_done:
        follow_ups = follow_ups.exclude(status=FollowUp.Status.DONE)
    return follow_ups


def follow_up_detail(follow_up_id):
    return (FollowUp.objects.select_related(
        "owner", "invitation__survey", "invitation__member__user", "invitation__store",
        "invitation__comment").prefetch_related("invitation__answers", "notes__author")
        .filter(pk=follow_up_id).first())


def testimonials_by_status(status):
    return (Testimonial.objects.filter(status=status)
            .select_related("invitation__survey", "invitation__member__user", "reviewed_by")
            .order_by("-consented_at"))


# --- Members -----------------------------------------------------------------------------------


def open_invitations(member, *, now=None):
    """A member's invitations they can still answer, newest first."""
    now = now or timezone.now()
    return (Invitation.objects.filter(member=member, confirmed_at__isnull=True,
                                      expires_at__gt=now, survey__is_active=True)
            .select_related("survey", "store").order_by("-created_at"))


def member_invitation(member, invitation_id):
    """The member's own invitation, or None (another member's is as missing as none)."""
    return (Invitation.objects.filter(member=member, pk=invitation_id)
            .select_related("survey", "member__user").first())


def invitation_for_link(invitation_id):
    return (Invitation.objects.filter(pk=invitation_id)
            .select_related("survey", "member__user").first())


def member_data(member):
    """What the surveys app holds about a member, for their download (plain JSON values)."""
    invitations = (Invitation.objects.filter(member=member).select_related("survey", "comment",
                                                                          "testimonial")
                   .prefetch_related("answers").order_by("created_at"))
    answers, testimonials = [], []
    for invitation in invitations:
        comment = getattr(invitation, "comment", None)
        for answer in invitation.answers.all():
            answers.append({
                "survey": invitation.survey.name, "invited_at": invitation.created_at.isoformat(),
                "question": answer.question, "answer": answer.value, "scale": answer.scale,
                "status": answer.status, "comment": comment.text if comment else "",
            })
        testimonial = getattr(invitation, "testimonial", None)
        if testimonial is not None:
            testimonials.append({
                "text": testimonial.text, "consent_wording": testimonial.consent_wording,
                "consented_at": testimonial.consented_at.isoformat(), "status": testimonial.status,
            })
    return {"survey_answers": answers, "testimonials": testimonials}


def has_answered_a_survey(member, facts=None):
    """For the "Voice of the shop" badge: the member has a confirmed answer."""
    return Answer.objects.filter(invitation__member=member, status=Answer.Status.CONFIRMED).exists()


def members_by_latest_nps_band(members, band):
    """Narrow `members` (a Member queryset) to those whose latest confirmed NPS answer is in
    `band` (detractor, passive or promoter), on whatever scale they answered; members who never
    answered an NPS survey are left out. For programs.segments."""
    latest = (Answer.objects.filter(invitation__member=OuterRef("pk"), status=Answer.Status.CONFIRMED,
                                    invitation__survey__kind=scoring.NPS,
                                    question=scoring.questions(scoring.NPS)[0][0])
              .order_by("-updated_at", "-pk"))
    in_band = Q()
    for scale, (detractors_to, passives_to) in scoring.NPS_BANDS[scoring.BAND_VERSION].items():
        low, high = scoring.NPS_SCALES[scale]
        first, last = {scoring.DETRACTOR: (low, detractors_to),
                       scoring.PASSIVE: (detractors_to + 1, passives_to),
                       scoring.PROMOTER: (passives_to + 1, high)}[band]
        in_band |= Q(latest_nps_scale=scale, latest_nps_value__gte=first, latest_nps_value__lte=last)
    return members.annotate(
        latest_nps_value=Subquery(latest.values("value")[:1]),
        latest_nps_scale=Subquery(latest.values("scale")[:1]),
    ).filter(in_band)
