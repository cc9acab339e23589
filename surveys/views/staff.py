"""Staff pages for surveys: the list, configuring, results, sending by hand, the follow-up
queue, testimonials to approve, CSV export and the receipt link for the till.

Reading results, the follow-up queue and testimonials needs `view_metrics`; configuring,
sending, acting on a follow-up and approving testimonials need `manage_programs`; the CSV
export needs `export_data`; the receipt link is for the till (`use_till`).
"""

import csv
from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from loyalty_site.permissions import staff_required
from loyalty_site.services import log_staff_action
from programs.models import Purchase
from programs.qr import qr_svg

from .. import links, selectors, services
from ..forms import FollowUpForm, ResultsFilterForm, SendForm, SurveyForm
from ..models import SHARE_LABELS, Survey, Testimonial


@require_GET
@staff_required("view_metrics")
def survey_list(request):
    return render(request, "staff/surveys/list.html", {"surveys": selectors.surveys_overview()})


@require_http_methods(["GET", "POST"])
@staff_required("manage_programs")
def survey_edit(request, survey_id=None):
    survey = get_object_or_404(Survey, pk=survey_id) if survey_id else Survey()
    form = SurveyForm(request.POST or None, instance=survey)
    if request.method == "POST" and form.is_valid():
        survey = services.save_survey(survey=form.save(commit=False), actor=request.user)
        messages.success(request, _("The survey is saved."))
        return redirect("staff:survey_results", survey.pk)
    return render(request, "staff/surveys/edit.html", {"form": form, "survey": survey},
                  status=400 if form.errors else 200)


def _filters(request):
    """The results filters from the query string; bad input shows its message, filters nothing."""
    form = ResultsFilterForm(request.GET or None)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        end = data["end"] + timedelta(days=1) if data["end"] else None
        return form, {"store": data["store"], "tier": data["tier"], "period_start": data["start"],
                      "period_end": end}, data["by"] or "month"
    return form, {"store": None, "tier": None, "period_start": None, "period_end": None}, "month"


@require_GET
@staff_required("view_metrics")
def survey_results(request, survey_id):
    survey = get_object_or_404(Survey, pk=survey_id)
    form, filters, by = _filters(request)
    results = selectors.survey_results(survey, **filters)
    return render(request, "staff/surveys/results.html", {
        "survey": survey, "form": form, "by": by, "results": results,
        "shares": [(SHARE_LABELS[key], share) for key, share in results["shares"].items()],
        "trend": selectors.index_trend(survey=survey, by=by, **filters),
        "comments": selectors.survey_comments(survey, **filters),
        "query": request.GET.urlencode(),
    })


class _Echo:
    def write(self, value):
        return value


@require_GET
@staff_required("export_data")
def survey_export(request, survey_id):
    """Every answered invitation as a CSV row: when, member number, store, each question's
    answer and scale, the comment. Logged, as it holds what customers wrote."""
    survey = get_object_or_404(Survey, pk=survey_id)
    keys = [key for key, _text, _scale in survey.questions()]
    log_staff_action(actor=request.user, action="surveys.answers.exported",
                     data={"survey": survey.pk})
    writer = csv.writer(_Echo())

    def rows():
        yield writer.writerow(["answered_at", "member", "store", *keys, "scale", "band_version",
                               "source", "comment"])
        for invitation in selectors.export_rows(survey).iterator(chunk_size=500):
            answers = {a.question: a for a in invitation.answers.all() if a.status == "confirmed"}
            first = answers.get(keys[0])
            comment = getattr(invitation, "comment", None)
            yield writer.writerow([
                invitation.confirmed_at.isoformat(), invitation.member.number,
                invitation.store.code if invitation.store else "",
                *[answers[k].value if k in answers else "" for k in keys],
                first.scale if first else "", first.band_version if first else "",
                first.source if first else "", comment.text if comment else "",
            ])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="survey-{survey.pk}.csv"'
    return response


@require_http_methods(["GET", "POST"])
@staff_required("manage_programs")
def survey_send(request, survey_id):
    """Send now to a segment or to members listed by hand."""
    survey = get_object_or_404(Survey, pk=survey_id)
    form = SendForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invited, throttled = services.invite_by_hand(
                survey=survey, members=form.chosen_members(), segment=form.cleaned_data["segment"],
                actor=request.user)
        except ValidationError as refusal:
            form.add_error(None, refusal)
        else:
            messages.success(request, _("%(invited)s invited; %(throttled)s skipped because they "
                                        "were surveyed recently.")
                             % {"invited": invited, "throttled": throttled})
            return redirect("staff:survey_results", survey.pk)
    return render(request, "staff/surveys/send.html", {"form": form, "survey": survey},
                  status=400 if form.errors else 200)


@require_GET
@staff_required("view_metrics")
def follow_ups(request):
    include_done = request.GET.get("done") == "1"
    return render(request, "staff/surveys/follow_ups.html", {
        "follow_ups": selectors.follow_up_queue(include_done=include_done)[:200],
        "include_done": include_done, "now": timezone.now(),
    })


@require_http_methods(["GET", "POST"])
@staff_required("manage_programs")
def follow_up(request, follow_up_id):
    item = selectors.follow_up_detail(follow_up_id)
    if item is None:
        raise Http404
    form = FollowUpForm(request.POST or None,
                        initial={"status": item.status, "owner": item.owner_id})
    if request.method == "POST" and form.is_valid():
        try:
            services.record_follow_up(follow_up=item, actor=request.user,
                                      note=form.cleaned_data["note"],
                                      status=form.cleaned_data["status"],
                                      owner=form.cleaned_data["owner"])
        except ValidationError as refusal:
            form.add_error(None, refusal)
        else:
            messages.success(request, _("The follow-up is updated."))
            return redirect("staff:survey_follow_up", item.pk)
    return render(request, "staff/surveys/follow_up.html", {
        "item": item, "form": form, "answers": list(item.invitation.answers.all()),
    }, status=400 if form.errors else 200)


@require_GET
@staff_required("view_metrics")
def testimonials(request):
    status = request.GET.get("status", Testimonial.Status.PENDING)
    if status not in Testimonial.Status.values:
        status = Testimonial.Status.PENDING
    return render(request, "staff/surveys/testimonials.html", {
        "testimonials": selectors.testimonials_by_status(status)[:200], "status": status,
        "statuses": Testimonial.Status.choices,
    })


@require_POST
@staff_required("manage_programs")
def review_testimonial(request, testimonial_id):
    testimonial = get_object_or_404(Testimonial, pk=testimonial_id)
    approve = request.POST.get("decision") == "approve"
    services.review_testimonial(testimonial=testimonial, actor=request.user, approve=approve)
    messages.success(request, _("Approved.") if approve else _("Set aside."))
    return redirect("staff:survey_testimonials")


@require_GET
@staff_required("use_till")
def receipt(request, purchase_id):
    """A QR code and link the till prints on the receipt: it opens the purchase's survey, for
    customers without email."""
    purchase = get_object_or_404(Purchase.objects.select_related("member__user", "store"),
                                 pk=purchase_id)
    invitations = [
        (invitation, url, qr_svg(url, title=_("Survey link")))
        for invitation in purchase.survey_invitations.select_related("survey").order_by("pk")
        for url in [links.answer_url(invitation)]
    ]
    return render(request, "staff/surveys/receipt.html", {
        "purchase": purchase, "invitations": invitations,
    })

