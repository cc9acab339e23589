"""Segments: staff define groups of members by filters and see who is in them."""

from datetime import date

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from loyalty_site.permissions import staff_required
from loyalty_site.services import log_staff_action

from .. import segments
from ..forms import SegmentForm
from ..models import Segment


@staff_required("manage_programs")
def segment_list(request):
    return render(request, "staff/segments/list.html",
                  {"segments": segments.segments_with_sizes()})


def _edit(request, segment):
    form = SegmentForm(request.POST or None, instance=segment)
    if request.method == "POST" and form.is_valid():
        creating = segment.pk is None
        if creating:
            form.instance.created_by = request.user
        segment = form.save()
        log_staff_action(actor=request.user,
                         action="programs.segment.created" if creating else "programs.segment.changed",
                         data={"segment": segment.pk, "name": segment.name})
        messages.success(request, _("Segment “%(name)s” saved.") % {"name": segment.name})
        return redirect("staff:segment", segment_id=segment.pk)
    return render(request, "staff/segments/edit.html", {"form": form, "segment": segment})


@staff_required("manage_programs")
def segment_new(request):
    return _edit(request, Segment())


@staff_required("manage_programs")
def segment_edit(request, segment_id):
    return _edit(request, get_object_or_404(Segment, pk=segment_id))


@staff_required("manage_programs")
@require_POST
def segment_preview_size(request):
    """How many members the filters being typed would match (htmx, as the form changes)."""
    form = SegmentForm(request.POST)
    # The name may still be empty or taken while filters are tried out: only filters count here.
    form.is_valid()
    filter_errors = {name for name in form.errors if name not in ("name", "description")}
    size = None
    if not filter_errors:
        size = segments.segment_size(form.instance, tiers=form.cleaned_data.get("tiers") or [])
    return render(request, "staff/segments/_size.html", {"size": size})


@staff_required("manage_programs")
def segment_detail(request, segment_id):
    segment = get_object_or_404(Segment.objects.select_related("program", "store"), pk=segment_id)
    return render(request, "staff/segments/detail.html", {
        "segment": segment,
        "size": segments.segment_size(segment),
        "members": segments.segment_preview(segment),
        "tiers": list(segment.tiers.all()),
        "birthday_month": (date_format(date(2000, segment.birthday_month, 1), "F")
                           if segment.birthday_month else ""),
    })
