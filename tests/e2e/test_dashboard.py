"""The metrics page in Chromium: figures, trend charts drawn by the vendored Chart.js under the
strict CSP, the "how is this computed" note, the filters, and the members list."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from programs.models import Purchase, PurchaseItem

from ..factories import MemberFactory, StoreFactory
from .conftest import DESKTOP, TABLET, expect


@pytest.fixture
def busy_shop(db):
    """30 customers who each bought twice a week apart in the last 30 days, and once in the 30
    before; half bought two categories. Enough for every purchase metric's headline."""
    main, web = StoreFactory(code="main", name="Main Street"), StoreFactory(code="web", name="Web")
    now = timezone.now()
    purchases = []
    for n in range(30):
        member = MemberFactory(user__name=f"Customer {n:02d}", joined_at=now - timedelta(days=90))
        for days in (3 + n % 20, 10 + n % 20, 40 + n % 15):
            purchases.append(Purchase(store=main if n % 3 else web, member=member,
                                      external_id=f"R{n}-{days}", amount=Decimal(20 + n),
                                      currency="EUR", occurred_at=now - timedelta(days=days)))
    Purchase.objects.bulk_create(purchases)
    PurchaseItem.objects.bulk_create(
        PurchaseItem(purchase=p, sku="x", category=("coffee", "cake")[i % 2 * (p.member_id % 2)],
                     quantity=1, unit_price=p.amount) for i, p in enumerate(purchases))
    return {"main": main, "web": web}


@pytest.mark.parametrize("viewport", [TABLET, DESKTOP], ids=["tablet", "desktop"])
def test_metrics_page(open_page, screenshot, manager, busy_shop, viewport):
    page = open_page(viewport, as_user=manager)
    page.goto("/staff/metrics/")
    repurchase = page.get_by_test_id("metric-repurchase_rate")
    # Every customer bought twice in the last 30 days.
    expect(repurchase.get_by_test_id("value")).to_have_text("100.0 %")
    expect(repurchase.get_by_test_id("sample")).to_contain_text("Sample: 30 customers")
    drawn = page.evaluate(
        "() => !!Chart.getChart(document.querySelector('canvas[data-metric=repurchase_rate]'))")
    assert drawn
    repurchase.get_by_text("How is this computed?").click()
    expect(repurchase.get_by_text("Customers with more than one purchase")).to_be_visible()
    screenshot(page, "metrics")

    page.get_by_label("Store").select_option(label="Web")
    page.get_by_role("button", name="Show").click()
    # A third of the customers bought on the web.
    expect(page.get_by_test_id("metric-repurchase_rate").get_by_test_id("sample")).to_contain_text(
        "Sample: 10 customers")


def test_members_list_and_member_page(open_page, screenshot, manager, busy_shop):
    page = open_page(TABLET, as_user=manager)
    page.goto("/staff/members/")
    expect(page.get_by_test_id("member-count")).to_have_text("30 members")
    page.get_by_label("Card number, email, name or phone").fill("Customer 07")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_test_id("member-count")).to_have_text("1 member")
    screenshot(page, "members")
    page.get_by_role("link", name=page.locator("tbody a").first.inner_text()).click()
    expect(page.get_by_role("heading", name="Customer 07")).to_be_visible()
    expect(page.get_by_text("Purchases")).to_be_visible()
    screenshot(page, "member")
