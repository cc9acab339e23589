"""Counter materials (docs/onboarding.md): a poster and a table tent with the sign-up QR code
and the program's rules, in any of the shop's languages, and printable member cards.

Each is a page of its own made for the browser's print dialog (A4, no navigation), so no PDF
library is needed; the QR codes are inline SVG.
"""

from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from programs import selectors as program_selectors
from programs.business import shop_languages
from programs.models import Program, Store
from programs.views.portal import member_required

from ..permissions import staff_required


class MaterialsForm(forms.Form):
    """What to print: for which program, which store's customers and in which language."""

    program = forms.ModelChoiceField(label=_("Program"), queryset=Program.objects.none(),
                                     empty_label=None)
    store = forms.ModelChoiceField(
        label=_("Store"), queryset=Store.objects.none(), required=False,
        empty_label=_("Any store"),
        help_text=_("Customers who sign up through the QR code are counted as joining here."))
    language = forms.ChoiceField(label=_("Language"))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["program"].queryset = Program.objects.filter(is_active=True)
        self.fields["store"].queryset = Store.objects.filter(is_active=True)
        names = dict(settings.LANGUAGES)
        self.fields["language"].choices = [(code, names[code]) for code in shop_languages()]
        program = self.fields["program"].queryset.first()
        self.fields["program"].initial = program.pk if program else None
        self.fields["language"].initial = shop_languages()[0]


def sign_up_url(store=None, *, embed=False):
    """The full address of the sign-up, with the store that printed or embedded it."""
    path = reverse("portal:join_embed" if embed else "account_signup")
    query = f"?{urlencode({'store': store.code})}" if store else ""
    return f"{settings.SITE_URL}{path}{query}"


def _chosen(request):
    """The form's choices from the query string; defaults when none are given, 404 when bad."""
    form = MaterialsForm(request.GET or None)
    if not request.GET:
        program = form.fields["program"].queryset.first()
        if program is None:
            raise Http404
        return program, None, form.fields["language"].initial
    if not form.is_valid():
        raise Http404
    data = form.cleaned_data
    return data["program"], data["store"], data["language"]


@require_GET
@staff_required("manage_programs")
def materials(request):
    form = MaterialsForm(request.GET or None)
    query = request.GET.urlencode() if request.GET and form.is_valid() else ""
    return render(request, "staff/materials.html", {
        "form": form, "query": query, "embed_url": sign_up_url(embed=True),
        "script_url": f"{settings.SITE_URL}{settings.STATIC_URL}js/patron-embed.js",
        "site_url": settings.SITE_URL,
        "embed_origins": settings.EMBED_ALLOWED_ORIGINS,
    })


def _printed(request, template):
    program, store, language = _chosen(request)
    # Rendered in the chosen language, whatever the manager reads the dashboard in.
    with translation.override(language):
        return render(request, template, {
            **program_selectors.counter_rules(program), "store": store, "language": language,
            "sign_up_url": sign_up_url(store)})


@require_GET
@staff_required("manage_programs")
def poster(request):
    return _printed(request, "print/poster.html")


@require_GET
@staff_required("manage_programs")
def table_tent(request):
    return _printed(request, "print/table_tent.html")


@require_GET
@staff_required("use_till")
def member_card(request, number):
    """A member's card to print at the counter, for a customer without a phone."""
    member = program_selectors.till_member(number)
    if member is None:
        raise Http404
    return render(request, "print/member_card.html", {"member": member})


@require_GET
@member_required
def my_card(request, member):
    return render(request, "print/member_card.html", {"member": member})
