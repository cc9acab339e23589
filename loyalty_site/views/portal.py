"""The member portal's own pages: home, what comes next, language and email preferences."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core import signing
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from programs import selectors as program_selectors

from .. import services
from ..forms import EmailPreferencesForm, LanguageForm
from ..models import User
from ..permissions import is_staff_member


def home(request):
    member = standing = ready_codes = tiers = None
    if request.user.is_authenticated:
        member = program_selectors.member_for_user(request.user)
    if member is not None:
        standing = program_selectors.points_overview(member)
        ready_codes = program_selectors.ready_codes_count(member)
        tiers = program_selectors.tier_progress(member)
    return render(request, "portal/home.html", {
        "member": member,
        "standing": standing,
        "ready_codes": ready_codes,
        "tiers": tiers,
        "affordable": sum(row["affordable"] for row in standing or []),
        # Only a signed-in person without a card is told about the staff dashboard.
        "is_staff_member": member is None and is_staff_member(request.user),
    })


def roadmap(request):
    return render(request, "portal/roadmap.html")


@require_POST
def set_language(request):
    """Switch the language for this browser, and for the account when signed in."""
    form = LanguageForm(request.POST)
    next_url = request.POST.get("next") or "/"
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()},
                                           require_https=request.is_secure()):
        next_url = "/"
    response = redirect(next_url)
    if not form.is_valid():
        messages.error(request, _("Choose one of the offered languages."))
        return response
    language = form.cleaned_data["language"]
    if request.user.is_authenticated:
        services.set_language(user=request.user, language=language)
    translation.activate(language)
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME, language, max_age=settings.LANGUAGE_COOKIE_AGE,
        secure=settings.LANGUAGE_COOKIE_SECURE, httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite=settings.LANGUAGE_COOKIE_SAMESITE,
    )
    return response


@login_required
def email_preferences(request):
    user = request.user
    if request.method == "POST":
        form = EmailPreferencesForm(request.POST)
        if form.is_valid():
            services.update_email_preferences(user=user, wording=form.wording(),
                                              **form.cleaned_data)
            messages.success(request, _("Your email preferences are saved."))
            return redirect("portal:email_preferences")
    else:
        form = EmailPreferencesForm(initial={
            "reminders": user.emails_reminders,
            "offers": user.emails_offers,
            "surveys": user.emails_surveys,
        })
    return render(request, "portal/email_preferences.html", {"form": form})


# Mail providers post the one-click unsubscribe (RFC 8058) without a session or CSRF token; the
# signed token in the URL is what authorises it.
@csrf_exempt
def unsubscribe(request, token):
    try:
        user, category = services.read_unsubscribe_token(token)
    except (signing.BadSignature, User.DoesNotExist):
        return render(request, "portal/unsubscribe.html", {"invalid": True}, status=400)
    if request.method == "POST":
        services.unsubscribe(user=user, category=category)
        if request.POST.get("List-Unsubscribe") == "One-Click":
            return HttpResponse(_("Unsubscribed."), content_type="text/plain")
        return render(request, "portal/unsubscribe.html", {"done": True, "category": category})
    # A GET only asks: link scanners open every link in an email, and must not unsubscribe.
    return render(request, "portal/unsubscribe.html", {"category": category})
