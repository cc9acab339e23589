"""Sign-up with email verification, sign-in, language: as a visitor meets them."""

import re

import pytest
from django.core import mail
from django.urls import reverse

from loyalty_site.models import OutboxEmail, User
from programs.models import Member

pytestmark = pytest.mark.django_db


def link_in(text):
    return re.search(r"https?://[^\s]+", text).group(0)


def test_sign_up_verify_and_land_on_the_portal_with_a_member_card(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("account_signup"), {
            "name": "Ola Nowak", "email": "ola@example.com",
            "password1": "a-long-secret-phrase", "password2": "a-long-secret-phrase",
            "emails_offers": "on",
        })
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    user = User.objects.get(email="ola@example.com")
    assert user.name == "Ola Nowak" and user.emails_offers is True
    assert Member.objects.filter(user=user).exists()

    # Not verified yet: signing in sends to the verification page, not the portal.
    assert len(mail.outbox) == 1
    verification = mail.outbox[0]
    assert verification.to == ["ola@example.com"]
    assert verification.alternatives and verification.alternatives[0][1] == "text/html"
    assert OutboxEmail.objects.get().status == OutboxEmail.Status.SENT

    confirm_url = link_in(verification.body)
    path = confirm_url.split("://", 1)[1].split("/", 1)[1]
    assert client.get(f"/{path}").status_code == 200
    response = client.post(f"/{path}", follow=True)
    assert response.redirect_chain[-1][0] == reverse("portal:home")
    page = response.content.decode()
    assert Member.objects.get(user=user).display_number in page
    assert "Hello, Ola" in page


def test_unverified_member_cannot_sign_in(client):
    User.objects.create_user(email="new@example.com", password="a-long-secret-phrase")
    response = client.post(reverse("account_login"), {
        "login": "new@example.com", "password": "a-long-secret-phrase"})
    assert response.status_code == 302
    assert response["Location"] == reverse("account_email_verification_sent")
    assert "_auth_user_id" not in client.session


def test_sign_up_with_a_known_email_changes_nothing_and_tells_the_owner(
    client, member, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("account_signup"), {
            "email": "MEMBER@example.com", "password1": "another-long-phrase",
            "password2": "another-long-phrase"})
    assert User.objects.filter(email__iexact="member@example.com").count() == 1
    assert Member.objects.count() == 1
    assert len(mail.outbox) == 1
    assert "already exists" in mail.outbox[0].body


def test_password_reset_email_goes_through_the_outbox(
    client, member, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("account_reset_password"), {"email": "member@example.com"})
    assert response.status_code == 302
    email = OutboxEmail.objects.get(to_email="member@example.com")
    assert email.kind == "account/email/password_reset_key"
    assert email.status == OutboxEmail.Status.SENT
    assert "/accounts/password/reset/key/" in mail.outbox[0].body


def test_language_choice_is_kept_on_the_account(client, member):
    client.force_login(member.user)
    response = client.post(reverse("portal:set_language"), {"language": "pl", "next": "/"})
    assert response.status_code == 302 and response["Location"] == "/"
    member.user.refresh_from_db()
    assert member.user.language == "pl"
    # Another device, with no language cookie, still speaks Polish to this member.
    other_device = type(client)()
    other_device.force_login(member.user)
    assert other_device.get("/")["Content-Language"] == "pl"


def test_the_language_signed_up_in_stays_after_confirming(client, django_capture_on_commit_callbacks):
    """A visitor whose browser asks for Polish signs up in Polish; confirming the email signs
    them in, and the portal (and every email after) stays Polish on the account's word."""
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("account_signup"), {
            "name": "Ola Nowak", "email": "ola@example.com",
            "password1": "a-long-secret-phrase", "password2": "a-long-secret-phrase",
        }, HTTP_ACCEPT_LANGUAGE="pl-PL,pl;q=0.9")
    assert User.objects.get(email="ola@example.com").language == "pl"
    path = link_in(mail.outbox[0].body).split("://", 1)[1].split("/", 1)[1]
    response = client.post(f"/{path}", follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert response["Content-Language"] == "pl"
    assert "Witaj, Ola" in response.content.decode()


def test_language_switch_refuses_unknown_languages_and_foreign_redirects(client, member):
    client.force_login(member.user)
    response = client.post(reverse("portal:set_language"),
                           {"language": "xx", "next": "https://evil.example.com/"})
    assert response["Location"] == "/"
    member.user.refresh_from_db()
    assert member.user.language == "en"
