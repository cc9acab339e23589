from django.conf import settings
from django.http import Http404
from django.utils import timezone, translation

from programs.api.errors import not_found as api_not_found
from programs.business import shop_time_zone


class UserLanguageMiddleware:
    """Speak a signed-in person's chosen language on every device they use.

    LocaleMiddleware has already picked a language from the cookie or the browser; a saved
    choice on the account wins over both.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.language:
            translation.activate(user.language)
            request.LANGUAGE_CODE = user.language
        return self.get_response(request)


class ShopTimeZoneMiddleware:
    """Count days and show times in the time zone chosen in the first-run setup, when it
    differs from SHOP_TIME_ZONE (which the scheduled jobs keep; docs/onboarding.md)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        zone = shop_time_zone()
        if zone == settings.TIME_ZONE:
            return self.get_response(request)
        with timezone.override(zone):
            return self.get_response(request)


class NulCharactersMiddleware:
    """Answer 404 to an address whose path or query holds a NUL character (%00).

    PostgreSQL cannot store NUL in text, so nothing Patron keeps can be named by such an
    address; and a view that looks it up (a card number, a receipt number, a code in the URL)
    would otherwise fail with a database error and a 500. Forms already refuse NUL in what
    they read; this covers what views take from the address.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if "\x00" in request.path or any("\x00" in text for key, values in request.GET.lists()
                                         for text in [key, *values]):
            if request.path.startswith("/api/"):
                return api_not_found(request)
            raise Http404
        return self.get_response(request)
