"""Portal and staff pages as people meet them, each with a bounded number of queries."""

import pytest
from django.urls import reverse

from loyalty_site import services
from loyalty_site.models import EmailCategory, StaffAction, User

pytestmark = pytest.mark.django_db


def test_landing_page_invites_visitors_to_join(client, django_assert_max_num_queries):
    with django_assert_max_num_queries(2):
        response = client.get("/")
    page = response.content.decode()
    assert reverse("account_signup") in page and "Join" in page


def test_member_home_shows_the_card(client, member, django_assert_max_num_queries):
    client.force_login(member.user)
    # Session, user, card, and the balances (tests/programs/test_portal_points.py has the rest).
    with django_assert_max_num_queries(10):
        response = client.get("/")
    assert member.display_number in response.content.decode()


@pytest.mark.parametrize("name", ["portal:roadmap", "portal:email_preferences"])
def test_portal_pages_have_bounded_queries(client, member, name, django_assert_max_num_queries):
    client.force_login(member.user)
    with django_assert_max_num_queries(6):
        assert client.get(reverse(name)).status_code == 200


def test_staff_pages_have_bounded_queries_whatever_the_data(
    client, manager, cashier, django_assert_max_num_queries
):
    from tests.factories import MemberFactory

    MemberFactory.create_batch(20)
    client.force_login(manager)
    for name in ["staff:home", "staff:roadmap", "staff:team", "staff:outbox"]:
        with django_assert_max_num_queries(12):
            assert client.get(reverse(name)).status_code == 200, name


def test_email_preferences_are_saved(client, member):
    client.force_login(member.user)
    response = client.post(reverse("portal:email_preferences"), {"offers": "on"}, follow=True)
    assert "Your email preferences are saved." in response.content.decode()
    member.user.refresh_from_db()
    assert (member.user.emails_reminders, member.user.emails_offers,
            member.user.emails_surveys) == (False, True, False)


def unsubscribe_path(user, category=EmailCategory.REMINDERS):
    return reverse("portal:unsubscribe", args=[services.unsubscribe_token(user, category)])


def test_opening_an_unsubscribe_link_only_asks(client, member):
    """Mail scanners open every link: a GET must not unsubscribe."""
    response = client.get(unsubscribe_path(member.user))
    assert response.status_code == 200 and "Unsubscribe?" in response.content.decode()
    member.user.refresh_from_db()
    assert member.user.emails_reminders is True


def test_confirming_unsubscribes_from_that_category_only(client, member):
    response = client.post(unsubscribe_path(member.user))
    assert "You are unsubscribed" in response.content.decode()
    member.user.refresh_from_db()
    assert member.user.emails_reminders is False and member.user.emails_surveys is True


def test_one_click_unsubscribe_by_a_mail_provider(client, member):
    response = client.post(unsubscribe_path(member.user, EmailCategory.SURVEYS),
                           {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/plain")
    member.user.refresh_from_db()
    assert member.user.emails_surveys is False


def test_a_tampered_unsubscribe_link_changes_nothing(client, member):
    token = services.unsubscribe_token(member.user, EmailCategory.REMINDERS)
    response = client.post(reverse("portal:unsubscribe", args=[token[:-2] + "xx"]))
    assert response.status_code == 400
    assert "does not work" in response.content.decode()
    member.user.refresh_from_db()
    assert member.user.emails_reminders is True


def test_a_manager_adds_a_cashier_who_is_invited_by_email(
    client, manager, django_capture_on_commit_callbacks, mailoutbox
):
    client.force_login(manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("staff:team"), {
            "name": "Ann Till", "email": "ann@example.com", "role": "cashier"}, follow=True)
    assert "Ann Till is on the team" in response.content.decode()
    ann = User.objects.get(email="ann@example.com")
    assert ann.groups.get().name == "cashier"
    assert not ann.has_usable_password()
    assert mailoutbox[0].to == ["ann@example.com"]
    assert "/accounts/password/reset/key/" in mailoutbox[0].body
    action = StaffAction.objects.get(action="loyalty_site.staff.added")
    assert action.actor == manager and action.data["role"] == "cashier"


def test_adding_someone_already_on_the_team_is_refused_with_a_message(client, manager, cashier):
    client.force_login(manager)
    response = client.post(reverse("staff:team"), {
        "name": "Carl", "email": "CASHIER@example.com", "role": "manager"})
    assert "already on the team" in response.content.decode()
    assert list(cashier.groups.values_list("name", flat=True)) == ["cashier"]
    assert not StaffAction.objects.exists()


def test_a_manager_removes_a_cashier_but_not_themselves(client, manager, cashier):
    client.force_login(manager)
    client.post(reverse("staff:remove_from_team", args=[cashier.pk]))
    assert not cashier.groups.exists()
    response = client.post(reverse("staff:remove_from_team", args=[manager.pk]), follow=True)
    assert "cannot remove yourself" in response.content.decode()
    assert manager.groups.filter(name="manager").exists()


def test_the_admin_lists_open_for_a_superuser(client, db):
    from django.contrib import admin as django_admin

    superuser = User.objects.create_superuser(email="root@example.com", password="x")
    client.force_login(superuser)
    for model in django_admin.site._registry:
        if model._meta.app_label in {"programs", "loyalty_site"}:
            url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
            assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/staff/login/"])
def test_every_page_carries_a_strict_content_security_policy(client, path):
    policy = client.get(path)["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert "frame-ancestors 'none'" in policy
