"""The sign-up a shop embeds in its own web site (docs/onboarding.md): /join/embed/.

It makes the same account and member card as the portal's sign-up — allauth's form, adapter
and email verification, and `enrol_member` with its `member_enrolled` signal, so welcome
points and referrals work — and then says so inside the frame instead of signing the person in.

The page may be framed only by EMBED_ALLOWED_ORIGINS: its CSP frame-ancestors lists them and
X-Frame-Options is left off for it alone. It takes no CSRF cookie, because browsers withhold
cookies from a frame on another site; the signed single-use time stamp of `loyalty_site.embed`
stands in for it (the form acts for nobody who is signed in).
"""

from allauth.account.forms import SignupForm
from allauth.account.internal import flows
from django.conf import settings
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from programs import selectors as program_selectors
from programs.business import shop_languages

from .. import embed


def _framed_by_shop(response):
    origins = settings.EMBED_ALLOWED_ORIGINS
    response._csp_replace = {"frame-ancestors": list(origins) or ["'none'"]}
    response.xframe_options_exempt = bool(origins)
    return response


def _page(request, *, form=None, refused="", done=False, status=200):
    store = program_selectors.signup_store(request.GET.get("store") or request.POST.get("store"))
    return _framed_by_shop(render(request, "embed/join.html", {
        "form": form, "refused": refused, "done": done, "store": store,
        "token": embed.issue_token(), "honeypot": embed.HONEYPOT_FIELD,
    }, status=status))


@never_cache
@csrf_exempt
@require_http_methods(["GET", "POST"])
def join(request):
    language = request.GET.get("lang")
    if language not in shop_languages():
        return _join(request)
    with translation.override(language):
        return _join(request)


def _join(request):
    if request.method == "GET":
        return _page(request, form=SignupForm())
    try:
        embed.check_submission(request.POST, ip=request.META.get("REMOTE_ADDR", ""))
    except embed.SignupRefused as refusal:
        return _page(request, form=SignupForm(), refused=str(refusal), status=400)
    form = SignupForm(request.POST)
    if not form.is_valid():
        return _page(request, form=form, status=400)
    user, _response = form.try_save(request)
    if user is not None:
        # The verification email, and allauth's user_signed_up signal; the response (a
        # redirect to "check your email") is for the portal, not the frame.
        flows.signup.complete_signup(request, user=user)
    return _page(request, done=True)
