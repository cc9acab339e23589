from django.utils import translation


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
