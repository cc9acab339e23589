"""Managers import existing customers and opening balances from CSV: check first, then import.

The checked file waits in the cache (Redis in production, shared by every web process) for an
hour under its SHA-256, so that the manager confirms exactly the file they saw checked without
uploading it again.
"""

from django.contrib import messages
from django.core.cache import cache
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from loyalty_site.permissions import staff_required

from .. import imports, services
from ..forms import ConfirmImportForm, CustomerImportForm
from ..models import CustomerImport, Program

CHECKED_FILE_SECONDS = 3600
# Errors listed on the page; the command line prints them all.
ERRORS_SHOWN = 500


def _cache_key(sha256):
    return f"customer-import:{sha256}"


def _page(request, form, status=200, **context):
    return render(request, "staff/imports.html", {
        "form": form,
        "recent": CustomerImport.objects.select_related("program", "created_by")[:10],
        "errors_shown": ERRORS_SHOWN,
        **context,
    }, status=status)


@staff_required("import_data")
def import_page(request):
    programs = Program.objects.all()
    if request.method != "POST":
        return _page(request, CustomerImportForm(programs=programs))
    form = CustomerImportForm(request.POST, request.FILES, programs=programs)
    if not form.is_valid():
        return _page(request, form, status=400)
    upload, program = form.cleaned_data["file"], form.cleaned_data["program"]
    data = upload.read()
    checked = imports.check_customer_file(data, program=program)
    confirm = None
    if checked.can_import:
        cache.set(_cache_key(checked.sha256), data, CHECKED_FILE_SECONDS)
        confirm = ConfirmImportForm(programs=programs, initial={
            "sha256": checked.sha256, "program": program.pk, "file_name": upload.name})
    return _page(request, form, status=200 if checked.can_import else 400, checked=checked,
                 program=program, file_name=upload.name, confirm=confirm,
                 errors=checked.errors[:ERRORS_SHOWN])


@staff_required("import_data")
@require_POST
def confirm_import(request):
    programs = Program.objects.all()
    form = ConfirmImportForm(request.POST, programs=programs)
    data = cache.get(_cache_key(form.data.get("sha256", ""))) if form.is_valid() else None
    if data is None:
        messages.error(request, _("The checked file is no longer waiting; upload it again."))
        return redirect("staff:imports")
    try:
        batch = services.import_customers(data=data, program=form.cleaned_data["program"],
                                          actor=request.user, file_name=form.cleaned_data["file_name"])
    except services.ImportRefused as refused:
        for message in refused.messages[:ERRORS_SHOWN]:
            messages.error(request, message)
        return redirect("staff:imports")
    cache.delete(_cache_key(batch.sha256))
    messages.success(request, _("Imported %(rows)s customers (%(new)s new members) with %(points)s "
                                "points of opening balances into %(program)s.") % {
        "rows": batch.rows, "new": batch.members_created, "points": batch.points,
        "program": batch.program.name})
    return redirect("staff:imports")
