"""A cashier is refused every manager action: every staff URL whose permission the cashier role
lacks answers 403, whatever its arguments, before anything is looked up; and no staff session
opens anything in the API, which only a store's key can use."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from rest_framework.permissions import IsAuthenticated

from loyalty_site.roles import CASHIER, ROLE_PERMISSIONS
from programs.api.authentication import ApiKeyAuthentication
from programs.models import ApiKey

from .urls import sample_arguments

pytestmark = pytest.mark.django_db


def staff_patterns():
    for pattern in get_resolver().url_patterns:
        if isinstance(pattern, URLResolver) and pattern.namespace == "staff":
            return [p for p in pattern.url_patterns if isinstance(p, URLPattern)]
    raise AssertionError("no staff URLs")


MANAGER_ONLY = [p for p in staff_patterns()
                if getattr(p.callback, "staff_permission", None)
                and p.callback.staff_permission not in ROLE_PERMISSIONS[CASHIER]]


def test_there_are_manager_only_pages_to_check():
    assert len(MANAGER_ONLY) > 20


@pytest.mark.parametrize("pattern", MANAGER_ONLY, ids=[p.name for p in MANAGER_ONLY])
def test_a_cashier_is_refused(client, cashier, pattern):
    client.force_login(cashier)
    url = reverse(f"staff:{pattern.name}", kwargs=sample_arguments(pattern))
    statuses = {client.get(url).status_code, client.post(url, {"name": "x", "amount": "1"}).status_code}
    # 405 for the method a page does not serve at all; the one it serves refuses the cashier.
    assert 403 in statuses and statuses <= {403, 405}, statuses


# --- The API ---------------------------------------------------------------------------------
# The API has no manager actions at all: it is a store's till or web shop, identified by the
# store's key, and can do only what the till does. A person's session, a cashier's or a
# manager's, opens nothing in it.


def api_patterns():
    for pattern in get_resolver().url_patterns:
        if isinstance(pattern, URLResolver) and pattern.namespace == "api":
            return [p for p in pattern.url_patterns if isinstance(p, URLPattern) and p.name]
    raise AssertionError("no API URLs")


# Readable by anyone, and nothing else: the API's root and its published schema.
OPEN_API_PAGES = {"root", "schema"}
STORE_ONLY = [p for p in api_patterns() if p.name not in OPEN_API_PAGES]


def test_every_api_view_takes_a_store_key_and_nothing_else():
    assert len(STORE_ONLY) >= 7
    for pattern in STORE_ONLY:
        view = pattern.callback.cls
        assert view.authentication_classes == [ApiKeyAuthentication], pattern.name
        assert view.permission_classes == [IsAuthenticated], pattern.name


@pytest.mark.parametrize("pattern", STORE_ONLY, ids=[p.name for p in STORE_ONLY])
@pytest.mark.parametrize("who", ["cashier", "manager"])
def test_a_staff_session_opens_nothing_in_the_api(client, who, pattern, request):
    client.force_login(request.getfixturevalue(who))
    url = reverse(f"api:{pattern.name}", kwargs=sample_arguments(pattern))
    for method in pattern.callback.cls.http_method_names:
        if hasattr(pattern.callback.cls, method) and method not in {"options", "head"}:
            response = getattr(client, method)(url, {}, content_type="application/json")
            assert response.status_code == 401, (method, url)
    assert not ApiKey.objects.exists()
