"""Webhooks in Chromium: a manager adds an endpoint (a local receiver), reveals its secret,
sends a test event and reads its delivery, under the strict CSP."""

import pytest

from loyalty_site.models import WebhookDelivery

from ..webhooks.conftest import Receiver
from .conftest import DESKTOP, TABLET, expect

pytestmark = pytest.mark.browser


@pytest.fixture
def receiver(settings):
    settings.WEBHOOK_ALLOW_HTTP = True
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


@pytest.mark.parametrize("viewport", [TABLET, DESKTOP], ids=["tablet", "desktop"])
def test_a_manager_sets_up_an_endpoint_and_sends_a_test_event(open_page, screenshot, manager,
                                                               receiver, viewport):
    page = open_page(viewport, as_user=manager)
    page.goto("/staff/")
    page.get_by_role("link", name="Webhooks").click()
    screenshot(page, "empty")
    page.get_by_role("button", name="New endpoint").click()
    page.get_by_label("URL").fill(receiver.url)
    page.get_by_label("Description").fill("Web shop")
    page.get_by_label("Points earned (or given back)").check()
    page.get_by_label("Tier changed").check()
    page.get_by_role("button", name="Save endpoint").click()
    expect(page.get_by_text("Endpoint saved.")).to_be_visible()
    page.get_by_text("Show the secret").click()
    expect(page.locator(".webhook-secret code")).to_contain_text("whsec_")
    screenshot(page, "endpoint")

    page.get_by_role("button", name="Send test event").click()
    expect(page.get_by_role("heading", name="ping")).to_be_visible()
    page.reload()
    expect(page.locator(".badge-delivered")).to_be_visible()
    expect(page.get_by_text("answer 200")).to_be_visible()
    screenshot(page, "delivery")
    assert receiver.requests[0]["headers"]["Patron-Event"] == "ping"
    assert WebhookDelivery.objects.get().status == "delivered"

    page.get_by_role("link", name="Delivery log").click()
    expect(page.locator("table code", has_text="ping")).to_be_visible()
    screenshot(page, "log")
