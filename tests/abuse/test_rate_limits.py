"""Where someone could guess or flood, the N+1th attempt in a window is refused with a message
that says so, and nothing is written: logins, sign-ups, the member look-up at the till and in
the API, referral codes and survey answers. Reward codes are tested beside the API and the till
(tests/programs/test_api.py, test_till.py)."""

import dataclasses
import re
from decimal import Decimal
from html import unescape

import pytest
from allauth.account import app_settings as allauth_settings
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from loyalty_site.models import User
from programs import services
from programs.api import views as api_views
from programs.views import staff as till_views
from referrals import rules
from referrals import services as referral_services
from referrals.models import Referral, ReferralProgramSettings
from surveys import links
from surveys import services as survey_services
from surveys.models import Answer, Survey

from ..factories import MemberFactory, StoreFactory

pytestmark = pytest.mark.django_db


def text(response):
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


@pytest.fixture
def smaller(monkeypatch):
    """Give a limit a smaller budget where it is used, so a test reaches it in a few requests."""

    def shrink(module, name, limit):
        monkeypatch.setattr(module, name, dataclasses.replace(getattr(module, name), limit=limit))
        return getattr(module, name)

    return shrink


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    # A login checks a password; the real hasher is slow on purpose, and these tests log in often.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


# --- Logins and sign-ups (allauth's limits) --------------------------------------------------


def test_allauth_limits_are_the_documented_ones():
    limits = allauth_settings.RATE_LIMITS
    assert limits["login_failed"] == "10/m/ip,5/300s/key"
    assert limits["login"] == "30/m/ip"
    assert limits["signup"] == "20/m/ip"


def test_failed_logins_lock_the_address_even_for_the_right_password(client, member, password):
    login = reverse("account_login")
    for _n in range(5):
        assert client.post(login, {"login": member.user.email, "password": "wrong"}).status_code == 200

    refused = client.post(login, {"login": member.user.email, "password": password})

    assert "Too many failed login attempts" in text(refused)
    assert "_auth_user_id" not in client.session


def test_too_many_logins_from_one_address_get_429(client, member, password, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login": "3/m/ip"}
    login = reverse("account_login")
    for _n in range(3):
        client.post(login, {"login": "nobody@example.com", "password": "wrong"})

    refused = client.post(login, {"login": member.user.email, "password": password})

    assert refused.status_code == 429
    assert "Too many attempts" in text(refused) and "Nothing was changed" in text(refused)
    assert "_auth_user_id" not in client.session


def test_too_many_sign_ups_from_one_address_get_429(client, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "signup": "2/m/ip"}
    signup = reverse("account_signup")
    for n in range(2):
        client.post(signup, {"email": f"bot{n}@example.com", "password1": "a-long-secret-phrase",
                             "password2": "a-long-secret-phrase"})
    before = User.objects.count()

    refused = client.post(signup, {"email": "bot9@example.com", "password1": "a-long-secret-phrase",
                                   "password2": "a-long-secret-phrase"})

    assert refused.status_code == 429
    assert User.objects.count() == before


# --- The member look-up ----------------------------------------------------------------------


def test_the_till_refuses_searches_after_too_many_that_found_nobody(client, cashier, member, smaller):
    limit = smaller(till_views, "TILL_MEMBER_LOOKUPS", 4)
    client.force_login(cashier)
    for n in range(limit.limit // 2):
        assert "No member found" in text(client.get(reverse("staff:till"), {"q": f"x{n}@example.com"}))
        assert client.get(reverse("staff:till_member", args=["0000000000"])).status_code == 404

    # Even a real member now; the till's search page says why (200, as the till's other
    # refusals: htmx would not show a 4xx page).
    refused = client.get(reverse("staff:till"), {"q": member.number})
    assert "Too many searches found no member" in text(refused)
    assert member.user.name not in text(refused)
    panel = client.get(reverse("staff:till_member", args=[member.number]))
    assert "Too many searches found no member" in text(panel) and member.user.name not in text(panel)
    purchase = client.post(reverse("staff:till_purchase", args=[member.number]), {"amount": "10"})
    assert "Too many searches found no member" in text(purchase)
    assert not member.purchases.exists()


def test_another_cashier_at_the_till_keeps_their_own_budget(client, cashier, manager, member, smaller):
    limit = smaller(till_views, "TILL_MEMBER_LOOKUPS", 2)
    client.force_login(cashier)
    for _n in range(limit.limit):
        client.get(reverse("staff:till_member", args=["0000000000"]))
    client.force_login(manager)
    assert client.get(reverse("staff:till"), {"q": member.number}).status_code == 302


def test_the_api_refuses_member_look_ups_after_too_many_unknown_numbers(db, smaller):
    limit = smaller(api_views, "MEMBER_LOOKUPS", 3)
    member = MemberFactory()
    store = StoreFactory(code="web")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {services.create_api_key(store=store)[1]}")
    for _n in range(limit.limit):
        assert api.get("/api/v1/members/0000000000").status_code == 404

    refused = api.get(f"/api/v1/members/{member.number}")

    assert refused.status_code == 429
    assert "Too many member numbers" in refused.json()["detail"]
    assert int(refused["Retry-After"]) >= 1
    assert "name" not in refused.json()


# --- Referral codes --------------------------------------------------------------------------


@pytest.fixture
def referrals_on(db):
    from programs.models import Program

    program = Program.objects.create(name="Points", slug="points", kind=Program.Kind.SPEND)
    return ReferralProgramSettings.objects.create(
        program=program, incentive=ReferralProgramSettings.Incentive.BOTH, referrer_points=500,
        friend_points=200, minimum_amount=Decimal("100"), qualify_within_days=30, review_days=14)


def guess_share_links(client, count):
    for n in range(count):
        client.get(reverse("portal:share_link", args=[f"ZZZZ-ZZ{n:02d}"]))


def test_share_links_say_so_once_too_many_codes_were_tried(client, referrals_on):
    real = referral_services.referral_code_for(MemberFactory())
    guess_share_links(client, referral_services.REFERRAL_CODE_LOOKUPS.limit)

    response = client.get(reverse("portal:share_link", args=[real.display_code]), follow=True)

    assert "Too many invitation links were opened from here" in text(response)
    assert rules.COOKIE_NAME not in client.cookies


def test_a_sign_up_with_a_code_after_too_many_guesses_joins_without_the_referral(
    client, referrals_on, django_capture_on_commit_callbacks
):
    real = referral_services.referral_code_for(MemberFactory())
    guess_share_links(client, referral_services.REFERRAL_CODE_LOOKUPS.limit)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("account_signup"), {
            "email": "friend@example.com", "password1": "a-long-secret-phrase",
            "password2": "a-long-secret-phrase", "referral_code": real.display_code}, follow=True)

    assert User.objects.filter(email="friend@example.com").exists()
    assert not Referral.objects.exists()
    assert "Too many referral codes were tried" in text(response)


# --- Survey answers --------------------------------------------------------------------------


@pytest.fixture
def invitation(db):
    survey = Survey.objects.create(name="NPS", kind=Survey.Kind.NPS)
    return survey_services.invite(survey=survey, member=MemberFactory(), send_after=timezone.now())


def test_a_survey_link_replayed_too_often_writes_no_more(client, invitation, smaller):
    limit = smaller(survey_services, "ANSWER_WRITES", 3)
    url = reverse("portal:survey_answer", args=[links.make_token(invitation)])
    for n in range(limit.limit):
        client.post(url, {"recommend": str(n % 11), "comment": f"take {n}"})
    saved = list(Answer.objects.values_list("value", "updated_at"))

    refused = client.post(url, {"recommend": "0", "comment": "one more"})

    assert refused.status_code == 429
    assert "answered too many times" in text(refused) and "Nothing was recorded" in text(refused)
    assert list(Answer.objects.values_list("value", "updated_at")) == saved
    click = client.get(reverse("portal:survey_answer",
                               args=[links.make_token(invitation, "recommend", 3)]))
    assert click.status_code == 429
    assert list(Answer.objects.values_list("value", "updated_at")) == saved
    # Reading the page, or a link checker's HEAD, still works: nothing is written by them.
    assert client.get(url).status_code == 200


def test_the_portal_survey_page_shares_the_invitations_budget(client, invitation, smaller):
    limit = smaller(survey_services, "ANSWER_WRITES", 2)
    client.force_login(invitation.member.user)
    url = reverse("portal:survey_member_answer", args=[invitation.pk])
    for _n in range(limit.limit):
        client.post(url, {"recommend": "9"})

    refused = client.post(url, {"recommend": "0"})

    assert refused.status_code == 429
    assert Answer.objects.get().value == 9
