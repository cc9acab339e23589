"""Managers' CSV downloads. Each export is written to the staff log: it carries personal data."""

from datetime import datetime, time, timedelta

from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone

from loyalty_site.permissions import staff_required
from loyalty_site.services import log_staff_action

from .. import exports
from ..forms import LedgerExportForm


def _csv_response(name, columns, rows):
    stamp = timezone.localtime().strftime("%Y-%m-%d")
    response = StreamingHttpResponse(exports.csv_lines(columns, rows),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="patron-{name}-{stamp}.csv"'
    response["Cache-Control"] = "private, no-store"
    return response


@staff_required("export_data")
def export_page(request):
    return render(request, "staff/exports.html", {"ledger_form": LedgerExportForm()})


@staff_required("export_data")
def export_members(request):
    log_staff_action(actor=request.user, action="programs.members.exported")
    return _csv_response("members", exports.MEMBER_COLUMNS, exports.member_rows())


@staff_required("export_data")
def export_ledger(request):
    form = LedgerExportForm(request.GET)  # both dates optional: no dates is the whole ledger
    if not form.is_valid():
        return render(request, "staff/exports.html", {"ledger_form": form}, status=400)
    zone = timezone.get_current_timezone()
    since = form.cleaned_data.get("since")
    until = form.cleaned_data.get("until")
    since_at = datetime.combine(since, time.min, tzinfo=zone) if since else None
    until_at = datetime.combine(until, time.min, tzinfo=zone) if until else None
    if until_at:
        until_at += timedelta(days=1)  # the whole last day
    log_staff_action(actor=request.user, action="programs.ledger.exported",
                     data={"since": str(since or ""), "until": str(until or "")})
    return _csv_response("ledger", exports.LEDGER_COLUMNS,
                         exports.ledger_rows(since=since_at, until=until_at))
