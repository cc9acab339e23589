"""Referrals in Chromium: a friend opens a member's share link, joins with the code filled in,
confirms their email; the member sees them on their invite page, with the copy button working
under the strict Content Security Policy."""

import re
from decimal import Decimal

import pytest
from django.core import mail

from programs.models import Member, Program
from referrals import services
from referrals.models import Referral, ReferralProgramSettings, Source
from tests.factories import MemberFactory

from .conftest import DESKTOP, PHONE, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "plum-orchard-lantern-42"


@pytest.fixture
def anna():
    program = Program.objects.create(name="Points", slug="points")
    ReferralProgramSettings.objects.create(program=program, referrer_points=500, friend_points=200,
                                           minimum_amount=Decimal("100"))
    anna = MemberFactory(user__email="anna@example.com", user__name="Anna Berg")
    services.referral_code_for(anna)
    return anna


def test_a_friend_joins_through_a_share_link(open_page, screenshot, anna):
    code = anna.referral_code.display_code
    page = open_page(PHONE)
    page.goto(f"/r/{code}")

    expect(page).to_have_url(re.compile(r"/accounts/signup/$"))
    expect(page.get_by_label("Referral code")).to_have_value(code)
    page.get_by_label("Your name").fill("Bo Ek")
    page.get_by_label("Email", exact=True).fill("bo@example.org")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    screenshot(page, "sign-up-with-code")
    page.get_by_role("button", name="Sign up").click()

    expect(page.get_by_role("heading", level=1)).to_have_text(re.compile("verify your email", re.I))
    confirm = re.sub(r"^https?://[^/]+", "", re.search(r"https?://\S+", mail.outbox[0].body).group(0))
    page.goto(confirm)
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Bo")

    referral = Referral.objects.get()
    assert referral.friend == Member.objects.get(user__email="bo@example.org")
    assert (referral.referrer, referral.source, referral.status) == (anna, Source.LINK, "joined")


def test_the_member_shares_their_link_and_sees_their_friend(open_page, screenshot, anna, live_server):
    friend = MemberFactory(user__name="Bo Ek")
    services.attribute(friend=friend, code=anna.referral_code.code, source=Source.API)
    page = open_page(DESKTOP, as_user=anna.user)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.goto("/referrals/")

    expect(page.get_by_role("heading", level=1)).to_have_text("Invite friends")
    expect(page.get_by_test_id("referral-code")).to_have_text(anna.referral_code.display_code)
    expect(page.get_by_test_id("my-referrals")).to_contain_text("Bo E.")
    page.get_by_role("button", name="Copy link").click()
    expect(page.get_by_role("button", name="Link copied")).to_be_visible()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.endswith(f"/r/{anna.referral_code.display_code}")
    screenshot(page, "invite-friends")
