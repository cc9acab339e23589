"""Consents with the words the person was shown, their language and time."""

import pytest
from django.urls import reverse
from django.utils import translation

from loyalty_site import services
from loyalty_site.models import Consent, EmailCategory

pytestmark = pytest.mark.django_db


def test_switching_offers_on_records_the_words_shown(client, member):
    member.user.emails_reminders = False
    member.user.save()
    client.force_login(member.user)
    # Surveys are on from the start: a default is not a consent, so none is recorded for it.
    client.post(reverse("portal:email_preferences"), {"offers": "on", "reminders": "on", "surveys": "on"})
    consents = {c.kind: c for c in Consent.objects.filter(user=member.user)}
    assert set(consents) == {"email_offers", "email_reminders"}
    offers = consents["email_offers"]
    assert (offers.wording, offers.language, offers.source, offers.withdrawn_at) == (
        "Offers and news from the shop", "en", "email_preferences", None)
    assert consents["email_reminders"].wording == (
        "Reminders about my points, rewards and tier\nFor example, a week before points expire.")


def test_switching_off_withdraws_and_on_again_gives_anew(client, member):
    client.force_login(member.user)
    client.post(reverse("portal:email_preferences"), {"offers": "on"})
    client.post(reverse("portal:email_preferences"), {"offers": "on"})  # unchanged: no new row
    client.post(reverse("portal:email_preferences"), {})
    client.post(reverse("portal:email_preferences"), {"offers": "on"})
    offers = list(Consent.objects.filter(user=member.user, kind="email_offers").order_by("pk"))
    assert len(offers) == 2
    assert offers[0].withdrawn_at is not None and offers[1].withdrawn_at is None


def test_unsubscribing_withdraws_the_consent(client, member):
    services.update_email_preferences(user=member.user, reminders=False, offers=True, surveys=False,
                                      wording={EmailCategory.OFFERS: "Offers"})
    token = services.unsubscribe_token(member.user, EmailCategory.OFFERS)
    client.post(reverse("portal:unsubscribe", args=[token]))
    assert Consent.objects.get(user=member.user).withdrawn_at is not None


def test_the_words_are_recorded_in_the_language_shown(member):
    with translation.override("sv"):
        services.give_consent(user=member.user, kind="email_offers", wording="Erbjudanden",
                              source="email_preferences")
    assert Consent.objects.get().language == "sv"


def test_a_consent_without_words_is_refused(member):
    with pytest.raises(ValueError, match="wording"):
        services.give_consent(user=member.user, kind="email_offers", wording=" ", source="x")


def test_signing_up_with_offers_records_the_checkbox_words(client):
    client.post(reverse("account_signup"), {
        "email": "ola@example.com", "password1": "a-long-enough-pass-42",
        "password2": "a-long-enough-pass-42", "name": "Ola", "emails_offers": "on",
    })
    consent = Consent.objects.get(user__email="ola@example.com")
    assert (consent.kind, consent.source) == ("email_offers", "signup")
    assert consent.wording == "Send me offers and news from the shop\nYou can change this at any time."


def test_the_privacy_page_shows_the_consent_history(client, member):
    services.give_consent(user=member.user, kind="email_offers", wording="Offers and news",
                          source="email_preferences")
    services.withdraw_consent(user=member.user, kind="email_offers")
    client.force_login(member.user)
    page = client.get(reverse("portal:privacy")).content.decode()
    assert "Offers and news" in page and "withdrawn" in page and "in force" not in page
