"""The referral pages as people meet them: the share link and sign-up, the till, the member's
page and the staff pages (permissions, query counts, another member's data never shown)."""

import re
from datetime import timedelta
from decimal import Decimal
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from loyalty_site.models import StaffAction, User
from programs.services import (
    create_api_key,
    find_or_enrol_customer,
    grant_points,
    record_purchase,
    refund_purchase,
)
from referrals import rules, selectors, services
from referrals.models import Reason, Referral, ReferralIncident, ReferralProgramSettings, Source

pytestmark = pytest.mark.django_db


def text(response):
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def sign_up(client, email, **extra):
    return client.post(reverse("account_signup"), {
        "name": "Bo Ek", "email": email, "password1": "a-long-secret-phrase",
        "password2": "a-long-secret-phrase", **extra}, follow=True)


# --- Share link and sign-up ------------------------------------------------------------------


def test_a_share_link_remembers_the_referrer_and_fills_in_the_sign_up_form(client, referral_settings, code):
    referral_settings.cookie_days = 10
    referral_settings.save()

    response = client.get(f"/r/{code.display_code.lower()}")

    assert response.status_code == 302 and response["Location"] == reverse("account_signup")
    cookie = response.cookies[rules.COOKIE_NAME]
    assert cookie.value == code.code and cookie["max-age"] == 10 * 86400 and cookie["httponly"]
    page = client.get(reverse("account_signup"))
    assert f'value="{code.display_code}"' in page.content.decode()

    response = sign_up(client, "bo@example.org", referral_code=code.display_code)

    assert "Referral code accepted: Anna B. invited you." in text(response)
    referral = Referral.objects.get()
    assert referral.friend.user.email == "bo@example.org"
    assert (referral.referrer, referral.source) == (code.member, Source.LINK)
    assert referral.device


def test_a_code_typed_at_sign_up_is_the_signup_source(client, referral_settings, code):
    sign_up(client, "bo@example.org", referral_code=code.code.lower())

    assert Referral.objects.get().source == Source.SIGNUP


def test_a_bad_code_at_sign_up_is_explained_and_the_sign_up_goes_through(client, referral_settings, code):
    response = sign_up(client, "bo@example.org", referral_code="NOPE")

    assert User.objects.filter(email="bo@example.org").exists()
    assert "Referral code not accepted (Not a referral code)" in text(response)
    assert ReferralIncident.objects.get().reason == Reason.MALFORMED


def test_an_unknown_link_still_leads_to_sign_up_without_a_cookie(client, referral_settings):
    response = client.get("/r/ZZZZ-ZZZZ", follow=True)

    assert response.redirect_chain[-1][0] == reverse("account_signup")
    assert rules.COOKIE_NAME not in response.cookies
    assert "This invitation link is not valid" in text(response)


def test_a_member_following_a_link_is_sent_home(client, member, code):
    client.force_login(member.user)

    response = client.get(f"/r/{code.code}")

    assert response["Location"] == reverse("portal:home")


# --- The API ---------------------------------------------------------------------------------


def test_the_api_passes_the_code_on_and_a_bad_one_never_fails_the_request(referral_settings, code, store):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {create_api_key(store=store)[1]}")

    good = api.post("/api/v1/members", {"email": "bo@example.org", "referral_code": code.display_code},
                    format="json")
    bad = api.post("/api/v1/members", {"email": "cy@example.org", "referral_code": "FRIEND-123"},
                   format="json")

    assert (good.status_code, bad.status_code) == (201, 201)
    referral = Referral.objects.get()
    assert (referral.friend.user.email, referral.source) == ("bo@example.org", Source.API)
    incident = ReferralIncident.objects.get()
    assert (incident.reason, incident.source, incident.friend.user.email) == (
        Reason.MALFORMED, Source.API, "cy@example.org")


# --- The till --------------------------------------------------------------------------------


@pytest.fixture
def at_till(client, cashier, store):
    client.force_login(cashier)
    return client


def test_the_cashier_types_a_code_at_a_first_purchase(at_till, referral_settings, code, friend):
    response = at_till.post(reverse("staff:till_purchase", args=[friend.number]), {
        "purchase-amount": "150", "purchase-external_id": "R1", "purchase-referral_code": code.code,
    }, follow=True)

    assert "Referral code accepted: Anna B. brought this customer." in text(response)
    assert "The referral by Anna B. qualifies with this purchase." in text(response)
    assert Referral.objects.get().source == Source.TILL


def test_a_bad_code_at_the_till_never_stops_the_purchase(at_till, referral_settings, friend):
    response = at_till.post(reverse("staff:till_purchase", args=[friend.number]), {
        "purchase-amount": "150", "purchase-external_id": "R1", "purchase-referral_code": "XXXX-XXXX",
    }, follow=True)

    page = text(response)
    assert "Purchase of" in page and "Referral code not accepted (No member has this code)" in page
    assert friend.purchases.count() == 1


# --- The member's page -----------------------------------------------------------------------


@pytest.fixture
def busy_referrer(referral_settings, referrer, code, store):
    """Anna brought three friends: one rewarded, one refused, one just joined; and a milestone
    every 2nd friend."""
    referral_settings.milestone_every = 2
    referral_settings.milestone_points = 1000
    referral_settings.save()
    now = timezone.now()
    for n, amount in enumerate(["150", "150", None]):
        friend, _created = find_or_enrol_customer(email=f"friend{n}@example.org", name=f"Friend{n} Ek",
                                                  referral_code=code.code, source="api")
        if amount:
            record_purchase(store=store, member=friend, external_id=f"R{n}", amount=amount)
    refused = Referral.objects.get(friend__user__email="friend1@example.org")
    refund_purchase(purchase=refused.purchase, external_id="F1", amount="150")
    services.run_referral_schedule(now=now + timedelta(days=15))
    return referrer


def test_a_member_sees_their_code_friends_rewards_and_milestone(client, busy_referrer,
                                                                django_assert_max_num_queries):
    client.force_login(busy_referrer.user)

    with django_assert_max_num_queries(20):
        response = client.get(reverse("portal:referrals"))

    page = text(response)
    code = busy_referrer.referral_code
    assert code.display_code in page and f'/r/{code.display_code}"' in response.content.decode()
    assert re.search(r"Friend0 E\. \S+ Rewarded", page)
    assert re.search(r"Friend1 E\. \S+ Refused The qualifying purchase was refunded", page)
    assert re.search(r"Friend2 E\. \S+ Joined Counts once they shop", page)
    assert "Friend0 Ek" not in page
    assert "500 points earned through referrals" in page
    assert "1 more friend rewarded and you get 1000 bonus points" in page
    assert 'href="mailto:?subject=' in response.content.decode()
    assert "https://wa.me/?text=" in response.content.decode()
    assert "<svg" in response.content.decode()


def test_another_members_referrals_are_never_shown(client, busy_referrer, member):
    client.force_login(member.user)

    page = text(client.get(reverse("portal:referrals")))

    assert "Friend0" not in page and busy_referrer.referral_code.display_code not in page
    assert "Nobody yet" in page


def test_the_offer_says_when_the_rewards_arrive(client, referral_settings, member):
    client.force_login(member.user)
    assert "Rewards arrive 14 days later, once returns" in text(client.get(reverse("portal:referrals")))

    referral_settings.review_days = 1
    referral_settings.save()
    assert "Rewards arrive 1 day later, once returns" in text(client.get(reverse("portal:referrals")))

    referral_settings.review_days = 0
    referral_settings.save()
    assert "Rewards arrive right after." in text(client.get(reverse("portal:referrals")))


@pytest.mark.parametrize(("days", "words"), [(1, "w ciągu 1 dnia"), (3, "w ciągu 3 dni"),
                                             (1, "1 dzień później"), (5, "5 dni później")])
def test_the_offer_counts_days_in_the_members_language(client, referral_settings, member, days, words):
    member.user.language = "pl"
    member.user.save()
    referral_settings.qualify_within_days = referral_settings.review_days = days
    referral_settings.save()
    client.force_login(member.user)
    assert words in text(client.get(reverse("portal:referrals")))


def test_a_member_opts_into_the_leaderboard(client, busy_referrer):
    client.force_login(busy_referrer.user)

    client.post(reverse("portal:referral_leaderboard"), {"on_leaderboard": "on"})

    busy_referrer.referral_code.refresh_from_db()
    assert busy_referrer.referral_code.on_leaderboard
    assert [e.member for e in selectors.leaderboard()] == [busy_referrer]
    client.post(reverse("portal:referral_leaderboard"), {})
    assert selectors.leaderboard() == []


def test_the_referrals_page_needs_a_sign_in(client):
    response = client.get(reverse("portal:referrals"))
    assert response.status_code == 302 and "login" in response["Location"]


# --- Staff -----------------------------------------------------------------------------------


def test_staff_see_the_figures_with_sources(client, manager, busy_referrer, django_assert_max_num_queries):
    client.force_login(manager)

    with django_assert_max_num_queries(25):
        response = client.get(reverse("staff:referrals"))

    page = text(response)
    assert "33 %" in page  # of 3 friends, one qualified; the other's purchase was refunded
    assert "Web shop or till system (API)" in page
    assert "The qualifying purchase was refunded" in page


def test_a_cashier_cannot_open_referral_figures_or_settings(client, cashier):
    client.force_login(cashier)
    for name in ("staff:referrals", "staff:referral_review", "staff:referral_settings"):
        assert client.get(reverse(name)).status_code == 403


def test_a_member_cannot_open_the_staff_pages(client, member):
    client.force_login(member.user)
    assert client.get(reverse("staff:referral_review")).status_code == 403


def test_staff_approve_from_the_review_queue(client, manager, referral_settings, code,
                                             django_assert_max_num_queries):
    referral_settings.burst_limit = 0
    referral_settings.save()
    find_or_enrol_customer(email="friend@example.org", referral_code=code.code, source="api")
    referral = Referral.objects.get()
    client.force_login(manager)

    with django_assert_max_num_queries(15):
        page = text(client.get(reverse("staff:referral_review")))
    assert "Many friends in a short time" in page

    response = client.post(reverse("staff:referral_decide", args=[referral.pk]),
                           {"decision": "approve"}, follow=True)

    assert "Referral approved." in text(response)
    assert Referral.objects.get().status == Referral.Status.JOINED
    assert StaffAction.objects.filter(action="referrals.referral.approved", actor=manager).exists()
    again = client.post(reverse("staff:referral_decide", args=[referral.pk]), {"decision": "reject"},
                        follow=True)
    assert "no longer waiting for review" in text(again)


def test_staff_set_up_a_program_and_bad_settings_change_nothing(client, manager, shop,
                                                                django_assert_max_num_queries):
    client.force_login(manager)
    url = reverse("staff:referral_settings_edit", args=[shop.pk])
    with django_assert_max_num_queries(15):
        assert client.get(url).status_code == 200
    fields = {"is_active": "on", "incentive": "both", "referrer_points": "300", "friend_points": "0",
              "minimum_amount": "50", "qualify_within_days": "30", "review_days": "14",
              "milestone_points": "0", "cookie_days": "30", "burst_limit": "5", "device_limit": "3",
              "decision_days": "7", "review_default": "reject"}

    refused = client.post(url, fields)
    assert refused.status_code == 400
    assert "Give points or choose a reward for this side." in text(refused)
    assert not ReferralProgramSettings.objects.exists()

    for bad, message in [({"milestone_every": "1", "milestone_points": "50"}, "Every 2nd friend or more"),
                         ({"cookie_days": "0"}, "At least one day."),
                         ({"friend_points": "100", "referrer_reward": "", "minimum_amount": "-1"}, "")]:
        assert client.post(url, {**fields, "friend_points": "100", **bad}).status_code == 400
        assert message in text(client.post(url, {**fields, "friend_points": "100", **bad}))
    assert not ReferralProgramSettings.objects.exists()

    response = client.post(url, {**fields, "friend_points": "100"}, follow=True)
    settings = ReferralProgramSettings.objects.get()
    assert (settings.referrer_points, settings.friend_points, settings.minimum_amount) == (
        300, 100, Decimal("50"))
    assert "running" in text(response)
    assert StaffAction.objects.filter(action="referrals.settings.changed").exists()


# --- Selectors for the dashboard -------------------------------------------------------------


def test_conversion_and_revenue_for_a_period_and_store(busy_referrer, store):
    start, end = timezone.now() - timedelta(days=1), timezone.now() + timedelta(days=1)

    assert selectors.conversion(start, end) == (1, 3)
    assert selectors.conversion(start, end, store=store) == (0, 0)  # they joined through the API
    assert selectors.conversion(end, end + timedelta(days=1)) == (0, 0)
    # Friend1's referral was refused, so only friend0's purchase counts.
    assert selectors.referred_revenue(start, end) == Decimal("150")
    assert selectors.referred_revenue(start, end, store=store) == Decimal("150")
    top = selectors.top_referrers(start, end)
    assert [(row["member"], row["referred"], row["converted"]) for row in top] == [(busy_referrer, 3, 1)]


def test_grants_by_others_do_not_count_as_referral_rewards(shop, referrer):
    grant_points(member=referrer, program=shop, points=10, cause_key="survey-invitation:1")
    assert selectors.member_referral_rewards(referrer) == ([], [])
