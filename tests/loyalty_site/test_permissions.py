"""A member cannot open the staff dashboard; a cashier cannot open manager pages."""

import re
from pathlib import Path

import pytest
from django.urls import reverse

from loyalty_site.roles import ROLE_PERMISSIONS
from loyalty_site.urls import staff_patterns

pytestmark = pytest.mark.django_db

MANAGER_PAGES = ["staff:team", "staff:outbox"]


def test_anonymous_visitors_are_sent_to_the_staff_sign_in(client):
    response = client.get("/staff/")
    assert response.status_code == 302
    assert response["Location"] == f"{reverse('staff:login')}?next=/staff/"


def test_a_member_cannot_open_the_staff_dashboard(client, member):
    client.force_login(member.user)
    for name in ["staff:home", "staff:roadmap", *MANAGER_PAGES]:
        response = client.get(reverse(name))
        assert response.status_code == 403, name
        assert "Staff only" in response.content.decode()


@pytest.mark.parametrize("name", MANAGER_PAGES)
def test_a_cashier_cannot_open_manager_pages(client, cashier, name):
    client.force_login(cashier)
    response = client.get(reverse(name))
    assert response.status_code == 403
    assert "Your role does not include this page" in response.content.decode()


def test_a_cashier_cannot_add_staff_by_posting_directly(client, cashier):
    client.force_login(cashier)
    response = client.post(reverse("staff:team"), {
        "name": "Eve", "email": "eve@example.com", "role": "manager"})
    assert response.status_code == 403
    assert not cashier.__class__.objects.filter(email="eve@example.com").exists()


def test_a_cashier_sees_the_overview_without_revenue(client, cashier):
    client.force_login(cashier)
    response = client.get(reverse("staff:home"))
    assert response.status_code == 200
    assert "Member sales" not in response.content.decode()
    assert reverse("staff:team") not in response.content.decode()


def test_a_manager_opens_every_staff_page(client, manager):
    client.force_login(manager)
    for name in ["staff:home", "staff:roadmap", *MANAGER_PAGES]:
        assert client.get(reverse(name)).status_code == 200, name
    assert "Member sales" in client.get(reverse("staff:home")).content.decode()


def test_every_staff_page_names_the_permission_it_needs():
    for pattern in staff_patterns:
        if pattern.name == "login":
            continue
        assert hasattr(pattern.callback, "staff_permission"), pattern.name


def test_the_documented_role_matrix_matches_the_code():
    """docs/roles.md has a row per permission with a ✓ under each role that holds it."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "roles.md").read_text()
    documented = {}
    for line in text.splitlines():
        match = re.match(r"\|\s*`(\w+)`\s*\|([^|]*)\|([^|]*)\|", line)
        if match:
            codename, manager, cashier = match.groups()
            documented[codename] = ("✓" in manager, "✓" in cashier)
    expected = {
        codename: (codename in ROLE_PERMISSIONS["manager"], codename in ROLE_PERMISSIONS["cashier"])
        for codename in set(ROLE_PERMISSIONS["manager"]) | set(ROLE_PERMISSIONS["cashier"])
    }
    assert documented == expected


def test_staff_sign_in_lands_on_the_dashboard(client, cashier, password):
    response = client.post(reverse("staff:login"), {"login": cashier.email, "password": password})
    assert response.status_code == 302 and response["Location"] == reverse("staff:home")


def test_staff_sign_in_with_a_wrong_password_says_so(client, cashier):
    response = client.post(reverse("staff:login"), {"login": cashier.email, "password": "nope"})
    assert response.status_code == 200
    assert "not correct" in response.content.decode()
    assert "_auth_user_id" not in client.session
