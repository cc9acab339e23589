"""The sign-up a shop embeds in its own web site: framing, bot checks, and the same account."""

import time

import pytest
from django.core import mail, signing
from django.urls import reverse

from loyalty_site import embed
from loyalty_site.models import OutboxEmail, User
from programs.models import LedgerEntry, Member
from programs.program_templates import add_stores, create_program_from_template

pytestmark = pytest.mark.django_db
SHOP_SITE = "https://www.kafe-lind.example"


@pytest.fixture(autouse=True)
def shop(settings):
    settings.EMBED_ALLOWED_ORIGINS = [SHOP_SITE]
    store = add_stores(names=["Main Street"])[0]
    program, _created = create_program_from_template(template="points", name="Club", actor=None)
    return program, store


def sign_up(client, *, age=10, token=None, store="", **extra):
    data = {"email": "new@example.com", "name": "Nora New", "password1": "a-long-Passphrase-42",
            "password2": "a-long-Passphrase-42",
            "token": token or embed.issue_token(now=time.time() - age), **extra}
    if store:
        data["store"] = store
    return client.post(reverse("portal:join_embed"), data)


def test_the_embed_may_be_framed_by_the_shops_site_only_and_other_pages_never(client):
    response = client.get(reverse("portal:join_embed"))
    assert response.status_code == 200
    policy = response["Content-Security-Policy"]
    assert f"frame-ancestors {SHOP_SITE}" in policy
    assert "X-Frame-Options" not in response
    for other in (reverse("account_signup"), reverse("portal:home"), reverse("staff:login")):
        response = client.get(other)
        assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
        assert response["X-Frame-Options"] == "DENY"


def test_without_configured_origins_nobody_may_frame_it(client, settings):
    settings.EMBED_ALLOWED_ORIGINS = []
    response = client.get(reverse("portal:join_embed"))
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert response["X-Frame-Options"] == "DENY"


def test_signing_up_in_the_frame_makes_the_same_account_card_and_welcome_points(
        client, shop, django_assert_max_num_queries):
    _program, store = shop
    with django_assert_max_num_queries(45):
        response = sign_up(client, store="main-street")
    assert response.status_code == 200
    assert 'data-testid="embed-done"' in response.text
    assert "frame-ancestors" in response["Content-Security-Policy"]
    member = Member.objects.get(user__email="new@example.com")
    assert member.joined_store == store and member.user.name == "Nora New"
    assert LedgerEntry.objects.filter(membership__member=member).get().points == 50
    # allauth's verification email, through the outbox as for every sign-up.
    email = OutboxEmail.objects.get(to_email="new@example.com")
    assert email.kind == "account/email/email_confirmation_signup"
    # The person is not signed in inside someone else's page.
    assert "_auth_user_id" not in client.session


def test_an_existing_email_gets_the_same_answer_and_no_second_account(client, member):
    response = sign_up(client, email="MEMBER@example.com")
    assert 'data-testid="embed-done"' in response.text
    assert User.objects.filter(email__iexact="member@example.com").count() == 1


@pytest.mark.parametrize(("case", "message"), [
    ("honeypot", "could not accept this form"),
    ("too_fast", "very quick"),
    ("expired", "has expired"),
    ("forged", "changed or is broken"),
    ("missing", "changed or is broken"),
])
def test_bot_checks_refuse_with_a_clear_message_and_write_nothing(client, case, message):
    kwargs = {
        "honeypot": {"website": "http://spam.example"},
        "too_fast": {"age": 0.5},
        "expired": {"age": 2 * 24 * 3600},
        "forged": {"token": signing.dumps({"t": time.time() - 60, "n": "x"}, salt="other")},
        "missing": {"token": "nonsense"},
    }[case]
    response = sign_up(client, **kwargs)
    assert response.status_code == 400
    assert message in response.text
    assert 'data-testid="embed-form"' in response.text
    assert not User.objects.filter(email="new@example.com").exists()
    assert not OutboxEmail.objects.exists() and not mail.outbox


def test_a_replayed_form_is_refused(client):
    token = embed.issue_token(now=time.time() - 10)
    assert 'embed-done' in sign_up(client, token=token).text
    response = sign_up(client, token=token, email="second@example.com")
    assert response.status_code == 400 and "sent already" in response.text
    assert not User.objects.filter(email="second@example.com").exists()


def test_too_many_sign_ups_from_one_address_are_refused(client, settings):
    settings.EMBED_SIGNUPS_PER_HOUR = 2
    for n in range(2):
        sign_up(client, email=f"person{n}@example.com")
    response = sign_up(client, email="third@example.com")
    assert response.status_code == 400 and "Too many sign-ups" in response.text
    assert not User.objects.filter(email="third@example.com").exists()


def test_the_frame_speaks_the_language_asked_for(client):
    response = client.get(reverse("portal:join_embed"), {"lang": "pl"})
    assert '<html lang="pl"' in response.text
