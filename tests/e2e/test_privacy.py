"""A member downloads their data, sees their consents and closes their account, on a phone."""

import json

import pytest
from django.urls import reverse

from loyalty_site import services
from loyalty_site.models import User
from programs.models import Member

from .conftest import PHONE, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_member_downloads_their_data_and_closes_their_account(open_page, screenshot, member, password):
    services.give_consent(user=member.user, kind="email_offers", source="email_preferences",
                          wording="Offers and news from the shop")
    page = open_page(PHONE, as_user=member.user)
    page.goto(reverse("portal:privacy"))
    expect(page.get_by_role("heading", name="Privacy and my data")).to_be_visible()
    expect(page.get_by_text("Offers and news from the shop")).to_be_visible()
    screenshot(page, "privacy-page")

    with page.expect_download() as download:
        page.get_by_role("button", name="Download as JSON").click()
    document = json.loads(download.value.path().read_text(encoding="utf-8"))
    assert document["sections"]["member_card"][0]["number"] == member.number

    page.get_by_role("link", name="Close my account").click()
    page.get_by_label("Your password").fill(password)
    screenshot(page, "close-account")
    page.get_by_role("button", name="Close my account for good").click()
    expect(page.get_by_text("Your account is closed")).to_be_visible()
    screenshot(page, "closed")
    assert User.objects.get(pk=member.user.pk).email.endswith("@closed.invalid")
    assert Member.objects.get(pk=member.pk).closed_at is not None
