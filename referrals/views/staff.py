"""Referrals in the staff dashboard: the figures, the review queue and each program's settings.

The figures need `view_metrics`; reviewing flagged referrals and changing settings need
`manage_programs`.
"""

from datetime import timedelta

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from loyalty_site.permissions import staff_required

from .. import selectors, services
from ..forms import ReferralSettingsForm
from ..models import Reason

PERIODS = (7, 30, 90, 365)


@require_GET
@staff_required("view_metrics")
def overview(request):
    days = int(request.GET["days"]) if request.GET.get("days") in {str(d) for d in PERIODS} else 30
    end = timezone.now()
    start = end - timedelta(days=days)
    converted, referred = selectors.conversion(start, end)
    reasons = selectors.incidents_by_reason(start, end)
    return render(request, "staff/referrals/overview.html", {
        "days": days, "periods": PERIODS,
        "converted": converted, "referred": referred,
        "rate": round(100 * converted / referred) if referred else None,
        "revenue": selectors.referred_revenue(start, end),
        "top": selectors.top_referrers(start, end),
        "leaderboard": selectors.leaderboard(),
        "reasons": sorted(((Reason(r).label, n) for r, n in reasons.items()), key=lambda x: -x[1]),
        "recent": selectors.recent_referrals(limit=20),
        "incidents": selectors.recent_incidents(limit=20),
        "waiting": selectors.review_queue().count(),
    })


@require_GET
@staff_required("manage_programs")
def review_queue(request):
    return render(request, "staff/referrals/review.html", {"queue": selectors.review_queue()})


@require_POST
@staff_required("manage_programs")
def decide(request, referral_id):
    referral = selectors.flagged_referral(referral_id)
    if referral is None:
        messages.warning(request, _("This referral is no longer waiting for review."))
        return redirect("staff:referral_review")
    approve = request.POST.get("decision") == "approve"
    if request.POST.get("decision") not in ("approve", "reject"):
        messages.error(request, _("Choose approve or reject."))
        return redirect("staff:referral_review")
    services.decide(referral=referral, approve=approve, actor=request.user)
    messages.success(request, _("Referral approved.") if approve else _("Referral rejected."))
    return redirect("staff:referral_review")


@require_GET
@staff_required("manage_programs")
def settings_list(request):
    return render(request, "staff/referrals/settings_list.html",
                  {"programs": selectors.programs_with_settings()})


@require_http_methods(["GET", "POST"])
@staff_required("manage_programs")
def settings_edit(request, program_id):
    program = selectors.program_by_id(program_id)
    if program is None:
        raise Http404
    form = ReferralSettingsForm(request.POST or None, program=program,
                                instance=selectors.settings_for(program))
    if request.method == "POST" and form.is_valid():
        services.save_settings(form=form, actor=request.user)
        messages.success(request, _("The referral settings of %(program)s are saved.")
                         % {"program": program.name})
        return redirect("staff:referral_settings")
    return render(request, "staff/referrals/settings_edit.html", {"form": form, "program": program},
                  status=400 if form.errors else 200)
