"""Paid memberships in Chromium: a member compares plans on a phone, starts a free trial and
cancels it; a cashier joins another member at the till; no page breaks the strict CSP."""

import re
from decimal import Decimal

import pytest

from programs.models import Plan, Program, Subscription
from tests.factories import MemberFactory, UserFactory

from .conftest import DESKTOP, PHONE, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def plans(settings):
    settings.SHOP_CURRENCY = "SEK"
    program = Program.objects.create(name="Points", slug="points")
    club = Plan.objects.create(program=program, name="Club", price=Decimal("49.00"), trial_days=14,
                               perks="Free refills")
    vip = Plan.objects.create(program=program, name="VIP", price=Decimal("99.00"),
                              multiplier=Decimal("2"), bonus_points=50)
    return club, vip


def test_a_member_starts_a_trial_and_cancels_it(open_page, screenshot, plans):
    member = MemberFactory(user__name="Mia Member")
    page = open_page(PHONE, as_user=member.user)
    page.goto("/plans/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Membership plans")
    expect(page.get_by_text("Free refills")).to_be_visible()
    expect(page.get_by_role("button", name="Pay online")).to_have_count(0)
    screenshot(page, "compare")
    page.get_by_role("button", name="Start free trial").click()
    expect(page.get_by_text("Your free trial has started.")).to_be_visible()
    expect(page.get_by_text(re.compile("Your free trial ends on"))).to_be_visible()
    page.get_by_role("button", name="Cancel at the end of the period").click()
    expect(page.get_by_role("status")).to_contain_text("Cancelled: your benefits go on until")
    expect(page.get_by_role("button", name="Cancel at the end of the period")).to_have_count(0)
    screenshot(page, "cancelled")
    assert Subscription.objects.get().status == "cancelled"


def test_a_cashier_joins_a_member_at_the_till(open_page, screenshot, plans):
    _club, vip = plans
    member = MemberFactory(user__name="Bo Ek")
    cashier = UserFactory(email="cashier@example.com", role="cashier")
    page = open_page(DESKTOP, as_user=cashier)
    page.goto("/staff/plans/")
    page.get_by_text("Take a payment or join a member at the till").click()
    page.get_by_label("Member number").fill(member.number)
    page.get_by_label("Plan").select_option(str(vip.pk))
    page.get_by_label("Amount").fill("99.00")
    page.get_by_label("Card terminal").check()
    page.get_by_role("button", name="Record payment").click()
    expect(page.get_by_text(re.compile("Payment recorded: paid until"))).to_be_visible()
    expect(page.get_by_test_id("status")).to_have_text("Active")
    screenshot(page, "subscription")
    assert Subscription.objects.get(membership__member=member).plan == vip
