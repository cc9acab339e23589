"""Tier configuration in the staff dashboard: a program's tiers and rules, with a preview of
how many members would land in each tier before anything is saved.

Thin: the forms read what was typed, programs.tiers previews and saves (configure_tiers), and
the page shows the service's messages beside the form.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from loyalty_site.permissions import staff_required

from .. import tiers
from ..forms import TierRowFormSet, TierSettingsForm
from ..models import Membership, Program


@staff_required("manage_programs")
def tier_programs(request):
    programs = list(Program.objects.filter(is_active=True).prefetch_related("tiers").order_by("name", "pk"))
    return render(request, "staff/tiers/index.html", {"programs": programs})


def _initial_rows(tier_list):
    return [{"id": tier.pk, "name": tier.name, "threshold": tier.threshold,
             "multiplier": tier.multiplier, "perks": tier.perks} for tier in tier_list]


@staff_required("manage_programs")
def tier_settings(request, slug):
    """GET shows the program's tiers; POST with `preview` counts the members per tier under what
    was typed, without saving; POST without it saves."""
    program = Program.objects.filter(is_active=True, slug=slug).first()
    if program is None:
        raise Http404
    current = tiers.program_tiers(program)
    preview = None
    if request.method == "POST":
        form = TierSettingsForm(request.POST)
        rows = TierRowFormSet(request.POST, prefix="tiers")
        if form.is_valid() and rows.is_valid():
            settings = form.cleaned_data
            kept = rows.rows()
            try:
                if "preview" in request.POST:
                    tiers.check_tiers(kept, settings["grace_days"], settings["basis"])
                    names = [row["name"] for row in kept if not row["delete"]]
                    counts = tiers.preview_tiers(
                        program, basis=settings["basis"], window_kind=settings["window_kind"],
                        thresholds=[row["threshold"] for row in kept if not row["delete"]])
                    preview = {"rows": list(zip(names, counts, strict=False)), "below": counts[-1]}
                else:
                    tiers.configure_tiers(program=program, actor=request.user, tiers=kept, **settings)
                    messages.success(request, _("The tiers of %(program)s are saved. Members move to "
                                                "their new tiers at tonight's re-evaluation.")
                                     % {"program": program.name})
                    return redirect("staff:tier_settings", slug=program.slug)
            except ValidationError as error:
                for field, field_messages in error.message_dict.items():
                    for message in field_messages:
                        form.add_error(field if field in form.fields else None, message)
    else:
        form = TierSettingsForm(initial={
            "basis": program.tier_basis, "window_kind": program.tier_window,
            "grace_days": program.tier_grace_days, "reminders": program.tier_reminders})
        rows = TierRowFormSet(initial=_initial_rows(current), prefix="tiers")
    holding = dict(Membership.objects.filter(program=program, tier__isnull=False)
                   .values_list("tier_id").annotate(n=Count("pk")).order_by())
    return render(request, "staff/tiers/edit.html", {
        "program": program, "form": form, "rows": rows, "preview": preview,
        "now_in": [(tier, holding.get(tier.pk, 0)) for tier in current],
    })
