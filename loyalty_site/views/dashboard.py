"""The managers' side of the staff dashboard: loyalty metrics, the members list, a member's page.

Cashiers see the till, not the revenue: every page here needs `view_metrics`.
"""

from urllib.parse import urlencode

from django.conf import settings
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from programs import selectors as program_selectors
from programs.business import shop_currency
from programs.exports import csv_lines

from .. import dashboard
from ..permissions import staff_required

MEMBERS_PER_PAGE = 50
# A member's page shows this many of the latest receipts and points entries; older entries are
# paged (without counting them all: one more row says whether there are older ones).
HISTORY_SHOWN = 20


def _bucket_label(day, bucket):
    # Weeks by their Monday ("Sep 14"), months by name ("September 2026"), in the staff
    # member's language.
    return formats.date_format(day, "MONTH_DAY_FORMAT" if bucket == "week" else "YEAR_MONTH_FORMAT")


def _chart_data(readings, period):
    """What static/js/dashboard.js draws: per metric its unit and the series (None where a
    bucket's sample is below the metric's minimum, so a line never shows a meaningless dot)."""
    return {
        "language": _language_tag(),
        "currency": shop_currency(),
        "labels": [_bucket_label(start, period.bucket) for start in
                   (bucket.start for bucket in period.buckets())],
        "metrics": {
            reading.metric.key: {
                "label": str(reading.metric.label),
                "unit": reading.metric.unit,
                "values": [_plain(figure.value) if figure.sample >= reading.metric.minimum_sample
                           else None for _, figure in reading.result.series],
            }
            for reading in readings if reading.result.series
        },
    }


def _language_tag():
    return translation.get_language() or settings.LANGUAGE_CODE


def _plain(value):
    """A number as JSON carries it: Decimals as strings would sort wrongly on a chart."""
    return None if value is None else float(value)


def _sections(readings):
    sections = {}
    for reading in readings:
        sections.setdefault(reading.metric.section, []).append(reading)
    labels = dict(dashboard.Metric.Section.choices)
    return [(labels[key], items) for key, items in sections.items()]


def _filter_form(request):
    form = dashboard.DashboardFilterForm.from_query(request.GET)
    return form, (form.period() if form.is_valid() else None)


def _filter_query(form):
    """The chosen store, program, tier and segment as a query string, for the quick periods."""
    chosen = getattr(form, "cleaned_data", {})
    return urlencode({name: chosen[name].pk for name in ("store", "program", "tier", "segment")
                      if chosen.get(name) is not None})


@staff_required("view_metrics")
def metrics_page(request):
    form, period = _filter_form(request)
    context = {"form": form, "presets": dashboard.presets(), "period": period,
               "filter_query": _filter_query(form)}
    if period is None:
        return render(request, "staff/dashboard/metrics.html", context, status=400)
    readings = dashboard.read(period)
    context.update({
        "sections": _sections(readings),
        "chart_data": _chart_data(readings, period),
        "query": request.GET.urlencode(),
        "metric_card_seconds": settings.METRICS_CACHE_SECONDS,
    })
    return render(request, "staff/dashboard/metrics.html", context)


def _csv(name, columns, rows):
    stamp = timezone.localdate().isoformat()
    response = HttpResponse("".join(csv_lines(columns, rows)), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="patron-{name}-{stamp}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response


def _csv_value(value):
    return "" if value is None else str(value)


@staff_required("view_metrics")
def metrics_csv(request):
    """The summary table: one row per metric, as on the page, with the filters applied."""
    form, period = _filter_form(request)
    if period is None:
        return render(request, "staff/dashboard/metrics.html",
                      {"form": form, "presets": dashboard.presets()}, status=400)
    rows = []
    for reading in dashboard.read(period):
        current, previous = reading.result.current, reading.result.previous
        rows.append([
            reading.metric.key, str(reading.metric.label), reading.metric.unit,
            _csv_value(current.value if reading.enough else None), current.sample,
            _csv_value(previous.value if reading.previous_enough else None),
            previous.sample if previous else "", reading.metric.minimum_sample,
            period.start.isoformat(), period.end.isoformat(),
            timezone.localtime(reading.computed_at).isoformat(),
        ])
    return _csv("metrics", ["metric", "label", "unit", "value", "sample", "previous_value",
                            "previous_sample", "minimum_sample", "period_start", "period_end",
                            "computed_at"], rows)


@staff_required("view_metrics")
def metric_series_csv(request, key):
    """One metric's trend table: a row per week or month."""
    item = dashboard.metric(key)
    if item is None:
        raise Http404
    form, period = _filter_form(request)
    if period is None:
        return render(request, "staff/dashboard/metrics.html",
                      {"form": form, "presets": dashboard.presets()}, status=400)
    (reading,) = dashboard.read(period, metrics_to_read=[item])
    rows = [[start.isoformat(), period.bucket, _csv_value(figure.value), figure.sample]
            for start, figure in reading.result.series]
    return _csv(f"{key}-{period.bucket}s", [period.bucket + "_starting", "bucket", key, "sample"],
                rows)


@staff_required("view_metrics")
def members(request):
    query = request.GET.get("q", "")
    sort = request.GET.get("sort", "newest")
    if sort not in program_selectors.MEMBER_SORTS:
        sort = "newest"
    page = Paginator(program_selectors.member_directory(query, sort=sort), MEMBERS_PER_PAGE
                     ).get_page(request.GET.get("page"))
    balances = program_selectors.member_balances(page.object_list)
    for member in page.object_list:
        member.total_points = balances.get(member.pk, 0)
    return render(request, "staff/dashboard/members.html", {
        "page": page, "query": query, "sort": sort,
        "sorts": [("newest", _("Newest first")), ("oldest", _("Oldest first")),
                  ("name", _("Name")), ("number", _("Card number")), ("email", _("Email"))],
    })


@staff_required("view_metrics")
def member_page(request, number):
    member = program_selectors.till_member(number)
    if member is None:
        raise Http404
    try:
        history_page = max(1, int(request.GET.get("history", 1)))
    except ValueError:
        history_page = 1
    start = (history_page - 1) * HISTORY_SHOWN
    history = list(program_selectors.points_history(member)[start:start + HISTORY_SHOWN + 1])
    older = len(history) > HISTORY_SHOWN
    history = history[:HISTORY_SHOWN]
    for entry in history:
        entry.cause = program_selectors.entry_cause(entry)
    return render(request, "staff/dashboard/member.html", {
        "member": member,
        "standing": program_selectors.member_programs(member),
        "history": history,
        "history_page": history_page,
        "older_history": older,
        "purchases": program_selectors.member_purchases(member, limit=HISTORY_SHOWN),
        "codes": program_selectors.member_redemptions(member),
        "panels": dashboard.member_panels(member),
    })
