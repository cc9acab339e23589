"""A cashier is refused every manager action: every staff URL whose permission the cashier role
lacks answers 403, whatever its arguments, before anything is looked up."""

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from loyalty_site.roles import CASHIER, ROLE_PERMISSIONS

pytestmark = pytest.mark.django_db


def staff_patterns():
    for pattern in get_resolver().url_patterns:
        if isinstance(pattern, URLResolver) and pattern.namespace == "staff":
            return [p for p in pattern.url_patterns if isinstance(p, URLPattern)]
    raise AssertionError("no staff URLs")


def sample_arguments(pattern):
    return {name: 1 if converter.regex == "[0-9]+" else "x"
            for name, converter in pattern.pattern.converters.items()}


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
