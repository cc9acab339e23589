"""The first-run setup (docs/onboarding.md): a superuser on an empty database names the
business, adds its stores and starts the first program from a template, one page at a time.

Every step can be sent again: the profile is saved over, stores are found by code and the
program by its code, so a double click or the back button makes nothing twice.
"""

from functools import wraps

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from programs import selectors as program_selectors
from programs import services as program_services
from programs.business import business_profile
from programs.models import Program, Store
from programs.program_templates import TEMPLATES

from ..forms import BusinessForm, FirstProgramForm, StoresForm
from ..permissions import staff_required

STEP_NAMES = ["business", "stores", "program", "done"]


def superuser_required(view):
    @staff_required()
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_superuser:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


def _add_errors(form, error):
    for field, field_errors in error.message_dict.items():
        for message in field_errors:
            form.add_error(field if field in form.fields else None, message)


def _page(request, step, form, status=200, **context):
    return render(request, f"staff/setup/{step}.html", {
        "form": form, "step": step, "steps": STEP_NAMES, "step_number": STEP_NAMES.index(step) + 1,
        **context}, status=status)


@superuser_required
def start(request):
    """The first step not done yet."""
    if not business_profile().is_set_up:
        return redirect("staff:setup_business")
    if not Store.objects.exists():
        return redirect("staff:setup_stores")
    if not Program.objects.exists():
        return redirect("staff:setup_program")
    return redirect("staff:setup_done")


@superuser_required
def business(request):
    profile = business_profile()
    initial = {"name": profile.name, "currency": profile.currency, "time_zone": profile.time_zone,
               "languages": list(profile.languages)}
    form = BusinessForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        logo = form.cleaned_data["logo"]
        try:
            program_services.save_business_profile(
                actor=request.user, name=form.cleaned_data["name"],
                currency=form.cleaned_data["currency"], time_zone=form.cleaned_data["time_zone"],
                languages=form.cleaned_data["languages"],
                logo=logo.read() if logo else None, logo_type=logo.content_type if logo else "")
        except ValidationError as error:
            _add_errors(form, error)
        else:
            return redirect("staff:setup_stores")
    return _page(request, "business", form, status=400 if form.errors else 200)


@superuser_required
def stores(request):
    existing = list(Store.objects.all())
    form = StoresForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            program_services.add_stores(names=form.store_names(), online=form.cleaned_data["online"])
        except ValidationError as error:
            _add_errors(form, error)
        else:
            return redirect("staff:setup_program")
    return _page(request, "stores", form, status=400 if form.errors else 200, existing=existing)


@superuser_required
def program(request):
    form = FirstProgramForm(request.POST or None, templates=TEMPLATES.values(),
                            initial={"template": "points",
                                     "name": _("%(shop)s Club") % {"shop": business_profile().name},
                                     "plan_price": TEMPLATES["vip"].plan_price})
    if request.method == "POST" and Program.objects.exists():
        # The first program is made once; more come from the usual pages.
        return redirect("staff:setup_done")
    if request.method == "POST" and form.is_valid():
        try:
            _program, created = program_services.create_program_from_template(
                actor=request.user, template=form.cleaned_data["template"],
                name=form.cleaned_data["name"], plan_price=form.cleaned_data["plan_price"])
        except ValidationError as error:
            _add_errors(form, error)
        else:
            if created:
                messages.success(request, _("Your program is ready."))
            return redirect("staff:setup_done")
    return _page(request, "program", form, status=400 if form.errors else 200,
                 existing=Program.objects.all())


@superuser_required
def done(request):
    return _page(request, "done", None, stores=Store.objects.all(),
                 programs=Program.objects.all(),
                 needs_setup=program_selectors.needs_first_run_setup())
