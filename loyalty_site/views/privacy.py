"""The member's privacy page: their data to download, their consents, closing their account."""

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from programs.ratelimit import RateLimit

from .. import personal_data, privacy
from ..forms import CloseAccountForm
from ..models import Consent

# Wrong passwords on the closing form, per account: a borrowed session must not be a way to
# guess the password.
CLOSE_ACCOUNT_ATTEMPTS = RateLimit("close-account-password", limit=5, window=900)


@login_required
def privacy_page(request):
    return render(request, "portal/privacy/page.html", {
        "consents": Consent.objects.filter(user=request.user).order_by("-given_at", "-pk"),
    })


def _download(data, content_type, extension):
    stamp = timezone.localtime().strftime("%Y-%m-%d")
    response = HttpResponse(data, content_type=content_type)
    response["Content-Disposition"] = f'attachment; filename="my-data-{stamp}.{extension}"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def download_json(request):
    sections = personal_data.personal_data(request.user)
    return _download(personal_data.as_json(sections), "application/json; charset=utf-8", "json")


@login_required
@require_GET
def download_csv(request):
    sections = personal_data.personal_data(request.user)
    return _download(personal_data.as_csv_zip(sections), "application/zip", "zip")


@login_required
def close_account(request):
    user = request.user
    form = CloseAccountForm(request.POST or None, user=user)
    status = 200
    if request.method == "POST":
        if CLOSE_ACCOUNT_ATTEMPTS.is_exceeded(user.pk):
            form = CloseAccountForm(user=user)
            messages.error(request, _("Too many wrong passwords. Try again in a quarter of an hour."))
            status = 429
        elif form.is_valid():
            try:
                privacy.close_account(user=user)
            except ValidationError as error:
                messages.error(request, " ".join(error.messages))
                return redirect("portal:privacy")
            logout(request)
            messages.success(request, _("Your account is closed and your personal data removed. "
                                        "Thank you for having been with us."))
            return redirect("portal:home")
        else:
            CLOSE_ACCOUNT_ATTEMPTS.hit(user.pk)
            status = 400
    return render(request, "portal/privacy/close.html", {
        "form": form, "has_password": user.has_usable_password(),
    }, status=status)
