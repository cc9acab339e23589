"""Every signed link Patron or allauth sends does nothing when forged, expired or replayed:
survey answer links, unsubscribe links, email verification and password reset.

(The Stripe webhook's signature is tested with the plans: tests/plans/test_stripe.py.)
"""

import re
import time
from types import SimpleNamespace
from unittest import mock

import pytest
from allauth.account.models import EmailAddress, EmailConfirmationHMAC
from django.core import mail, signing
from django.urls import reverse
from django.utils import timezone

from loyalty_site import services
from loyalty_site.models import EmailCategory, User
from surveys import links
from surveys import services as survey_services
from surveys.models import Answer, Survey

from ..factories import MemberFactory

pytestmark = pytest.mark.django_db


def made_days_ago(days, make):
    """A token signed `days` ago: Django's signing stamps tokens with time.time()."""
    with mock.patch("django.core.signing.time.time", return_value=time.time() - days * 86400):
        return make()


def tampered(token):
    """The token with its last signature character changed, as a guesser or a broken mail
    client would send it."""
    return token[:-1] + ("A" if token[-1] != "A" else "B")


# --- Survey answer links ---------------------------------------------------------------------


@pytest.fixture
def invitation(db):
    survey = Survey.objects.create(name="NPS", kind=Survey.Kind.NPS)
    return survey_services.invite(survey=survey, member=MemberFactory(), send_after=timezone.now())


def survey_link(token):
    return reverse("portal:survey_answer", args=[token])


@pytest.mark.parametrize(("make_token", "status", "words"), [
    (lambda inv: tampered(links.make_token(inv, "recommend", 0)), 400, "not valid"),
    # A token signed for another purpose (here an unsubscribe link) is not a survey link.
    (lambda inv: services.unsubscribe_token(inv.member.user, EmailCategory.SURVEYS), 400, "not valid"),
    (lambda inv: made_days_ago(31, lambda: links.make_token(inv, "recommend", 0)), 410, "expired"),
], ids=["forged", "another-purpose", "expired"])
def test_a_bad_survey_link_records_nothing(client, invitation, make_token, status, words):
    url = survey_link(make_token(invitation))
    assert client.get(url).status_code == status
    response = client.post(url, {"recommend": "0", "comment": "forged"})
    assert response.status_code == status and words in response.content.decode()
    assert not Answer.objects.exists()


def test_a_survey_link_replayed_after_the_answer_was_saved_changes_nothing(client, invitation):
    survey_services.submit_answers(invitation=invitation, values={"recommend": 10})
    before = list(Answer.objects.values_list("value", "status", "updated_at"))

    response = client.get(survey_link(links.make_token(invitation, "recommend", 0)))

    assert response.status_code == 200
    assert list(Answer.objects.values_list("value", "status", "updated_at")) == before


# --- Unsubscribe links -----------------------------------------------------------------------
# They carry no expiry on purpose: an old newsletter's link must still unsubscribe (RFC 8058).


def unsubscribe_url(token):
    return reverse("portal:unsubscribe", args=[token])


def preferences(user):
    user.refresh_from_db()
    return (user.emails_offers, user.emails_reminders, user.emails_surveys)


@pytest.mark.parametrize("make_token", [
    lambda user: tampered(services.unsubscribe_token(user, EmailCategory.OFFERS)),
    # Signed as Patron would sign it, but with a guessed key instead of the SECRET_KEY.
    lambda user: signing.dumps({"u": user.pk, "c": "offers"}, salt=services.UNSUBSCRIBE_SALT,
                               key="a-guessed-secret-key", compress=True),
    lambda user: links.make_token(SimpleNamespace(pk=user.pk)),
], ids=["forged", "guessed-key", "another-purpose"])
def test_a_bad_unsubscribe_link_changes_nothing(client, make_token):
    user = MemberFactory(user__emails_offers=True).user
    before = preferences(user)
    response = client.post(unsubscribe_url(make_token(user)), {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 400
    assert preferences(user) == before


def test_an_unsubscribe_link_replayed_does_nothing_more(client):
    user = MemberFactory().user
    url = unsubscribe_url(services.unsubscribe_token(user, EmailCategory.REMINDERS))
    client.post(url)
    user.emails_surveys = True
    user.save(update_fields=["emails_surveys"])

    again = client.post(url)

    assert again.status_code == 200
    user.refresh_from_db()
    assert (user.emails_reminders, user.emails_surveys) == (False, True)


# --- Email verification (allauth) ------------------------------------------------------------


@pytest.fixture
def unverified(db):
    user = User.objects.create_user(email="new@example.com", password="a-long-secret-phrase")
    return EmailAddress.objects.create(user=user, email=user.email, verified=False, primary=True)


def confirm_url(key):
    return reverse("account_confirm_email", args=[key])


@pytest.mark.parametrize("make_key", [
    lambda address: tampered(EmailConfirmationHMAC(address).key),
    lambda address: made_days_ago(4, lambda: EmailConfirmationHMAC(address).key),
    lambda address: services.unsubscribe_token(address.user, EmailCategory.OFFERS),
], ids=["forged", "expired", "another-purpose"])
def test_a_bad_verification_link_verifies_nothing(client, unverified, make_key):
    client.post(confirm_url(make_key(unverified)))
    unverified.refresh_from_db()
    assert unverified.verified is False
    assert "_auth_user_id" not in client.session


def test_a_verification_link_replayed_elsewhere_does_not_sign_in(client, unverified):
    url = confirm_url(EmailConfirmationHMAC(unverified).key)
    client.post(url)
    unverified.refresh_from_db()
    assert unverified.verified is True

    # The same link, later, in another browser (a forwarded or leaked email): no sign-in.
    other_browser = type(client)()
    response = other_browser.post(url)
    assert response.status_code in (200, 404)
    assert "_auth_user_id" not in other_browser.session


# --- Password reset (allauth) ----------------------------------------------------------------


def reset_link(client, email, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("account_reset_password"), {"email": email})
    url = re.search(r"https?://\S+/accounts/password/reset/key/\S+", mail.outbox[-1].body).group(0)
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def set_password(client, link, password):
    """Open the link and send the new password; returns the page the link opened."""
    page = client.get(link, follow=True)
    client.post(page.redirect_chain[-1][0] if page.redirect_chain else link,
                {"password1": password, "password2": password})
    return page


def test_a_password_reset_link_works_once(client, member, django_capture_on_commit_callbacks):
    link = reset_link(client, member.user.email, django_capture_on_commit_callbacks)
    set_password(client, link, "first-new-long-phrase")
    member.user.refresh_from_db()
    assert member.user.check_password("first-new-long-phrase")

    replay = type(client)()
    page = set_password(replay, link, "attackers-long-phrase")

    member.user.refresh_from_db()
    assert member.user.check_password("first-new-long-phrase")
    assert "Bad Token" in page.content.decode() or "invalid" in page.content.decode().lower()


def test_a_forged_password_reset_link_sets_nothing(client, member, django_capture_on_commit_callbacks):
    link = reset_link(client, member.user.email, django_capture_on_commit_callbacks)
    forged = link.rstrip("/")[:-1] + ("a" if link.rstrip("/")[-1] != "a" else "b") + "/"

    set_password(type(client)(), forged, "attackers-long-phrase")

    member.user.refresh_from_db()
    assert not member.user.check_password("attackers-long-phrase")
