"""`Authorization: Bearer <key>`: a store's till or web shop, identified by its API key."""

from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from ..api_keys import hash_api_key
from ..models import ApiKey
from ..services import note_api_key_used


class StoreClient:
    """Who is calling: a store's system, not a person. Never a Django User, so no permission
    meant for staff can ever be granted to an API key by accident."""

    is_authenticated = True
    is_anonymous = False
    is_active = True

    def __init__(self, api_key):
        self.api_key = api_key
        self.store = api_key.store

    def __str__(self):
        return f"API key {self.api_key.prefix} of {self.store.code}"


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """Finds the key by its SHA-256; refuses an unknown or revoked key, or an inactive store.

    On success request.user is a StoreClient (with .store) and request.auth the ApiKey.
    """

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None  # not ours: DRF answers 401 "credentials were not provided"
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(
                _("Send the key as 'Authorization: Bearer <key>', with no spaces in the key."))
        try:
            plaintext = header[1].decode("ascii")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed(_("This API key is not valid.")) from None
        found = ApiKey.objects.select_related("store").filter(key_hash=hash_api_key(plaintext))[:1]
        api_key = found[0] if found else None
        if api_key is None:
            raise exceptions.AuthenticationFailed(_("This API key is not valid."))
        if api_key.revoked_at is not None:
            raise exceptions.AuthenticationFailed(_("This API key was revoked."))
        if not api_key.store.is_active:
            raise exceptions.AuthenticationFailed(_("This API key's store is not active."))
        note_api_key_used(api_key=api_key)
        return StoreClient(api_key), api_key

    def authenticate_header(self, request):
        # Makes DRF answer 401 (with WWW-Authenticate) rather than 403 when the key is missing.
        return f'{self.keyword} realm="api"'


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """The key as an OpenAPI security scheme, so that every endpoint shows it is needed."""

    target_class = ApiKeyAuthentication
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A store's API key, made with `manage.py create_api_key --store <code>`.",
        }
