"""Bonus campaigns: what a purchase earns under them, worked out by hand (1 point per krona)."""

from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from programs import services
from programs.models import BonusCampaign, LedgerEntry, Membership, Program, Tier

from ..factories import StoreFactory

pytestmark = pytest.mark.django_db


def campaign(program, multiplier, starts=date(2026, 12, 1), ends=date(2026, 12, 24), **extra):
    return BonusCampaign.objects.create(program=program, name=extra.pop("name", f"×{multiplier}"),
                                        multiplier=Decimal(multiplier), starts_on=starts,
                                        ends_on=ends, **extra)


def buy(store, member, amount, when, items=None, receipt=None):
    purchase, _created = services.record_purchase(
        store=store, member=member, external_id=receipt or f"R-{when:%Y%m%d%H%M}-{amount}",
        amount=amount, occurred_at=when, items=items, now=when)
    return purchase.points_earned.get("points", 0)


def local(day, hour=12, minute=0):
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def test_double_points_only_on_the_campaign_days_in_the_shop(shop, store, customer, settings):
    campaign(shop, "2")
    assert buy(store, customer, "100.00", local(date(2026, 11, 30), 23, 59)) == 100
    assert buy(store, customer, "100.00", local(date(2026, 12, 1), 0, 0)) == 200
    assert buy(store, customer, "100.00", local(date(2026, 12, 24), 23, 59)) == 200
    assert buy(store, customer, "100.00", local(date(2026, 12, 25), 0, 0)) == 100


def test_the_campaign_day_is_the_shops_day_not_utc(shop, store, customer, settings):
    settings.TIME_ZONE = "Asia/Tokyo"
    campaign(shop, "2")
    # 20:00 UTC on 30 November is already 1 December in Tokyo.
    assert buy(store, customer, "100.00", datetime(2026, 11, 30, 20, 0, tzinfo=ZoneInfo("UTC"))) == 200


def test_a_category_campaign_covers_only_its_lines(shop, store, customer):
    campaign(shop, "3", category="Coffee")
    items = [{"sku": "BEANS", "category": "coffee", "quantity": 2, "unit_price": "50.00"},
             {"sku": "TEA", "category": "tea", "quantity": 1, "unit_price": "50.00"}]
    # 100 of coffee × 3 + 50 of tea = 350.
    assert buy(store, customer, "150.00", local(date(2026, 12, 5)), items) == 350


def test_a_receipt_discount_scales_the_lines_down_to_what_was_paid(shop, store, customer):
    campaign(shop, "3", category="coffee")
    items = [{"sku": "BEANS", "category": "coffee", "quantity": 1, "unit_price": "150.00"},
             {"sku": "TEA", "category": "tea", "quantity": 1, "unit_price": "50.00"}]
    # Lines total 200 but 150 was paid: coffee counts 112.50 (× 3 = 337.50), tea 37.50 → 375.
    assert buy(store, customer, "150.00", local(date(2026, 12, 5)), items) == 375


def test_what_the_lines_leave_uncovered_earns_without_the_category_bonus(shop, store, customer):
    campaign(shop, "2", category="coffee")
    items = [{"sku": "BEANS", "category": "coffee", "quantity": 1, "unit_price": "40.00"}]
    # 40 of coffee × 2 + 60 not on any line = 140.
    assert buy(store, customer, "100.00", local(date(2026, 12, 5)), items) == 140


def test_campaigns_do_not_stack_the_largest_wins(shop, store, customer):
    campaign(shop, "2", name="December")
    campaign(shop, "3", name="Main Street week", store=store)
    assert buy(store, customer, "100.00", local(date(2026, 12, 5))) == 300
    entry = LedgerEntry.objects.get(kind=LedgerEntry.Kind.EARN)
    assert "Main Street week ×3" in entry.reason


def test_a_store_campaign_gives_nothing_at_another_store(shop, store, customer):
    campaign(shop, "2", store=store)
    assert buy(StoreFactory(code="web"), customer, "100.00", local(date(2026, 12, 5))) == 100


def test_a_tier_campaign_needs_the_tier_or_above_and_stacks_with_the_tier_multiplier(shop, store, customer):
    silver = Tier.objects.create(program=shop, name="Silver", rank=1, threshold=1_000_000)
    gold = Tier.objects.create(program=shop, name="Gold", rank=2, threshold=2_000_000,
                               multiplier=Decimal("1.5"))
    campaign(shop, "2", minimum_tier=silver)
    assert buy(store, customer, "100.00", local(date(2026, 12, 5))) == 100
    Membership.objects.filter(member=customer, program=shop).update(tier=gold)
    # 100 × 1.5 (Gold) × 2 (campaign) = 300.
    assert buy(store, customer, "100.00", local(date(2026, 12, 6))) == 300


def test_an_inactive_campaign_or_another_programs_gives_nothing(shop, store, customer):
    campaign(shop, "2", is_active=False)
    other = Program.objects.create(name="Stamps", slug="stamps", kind=Program.Kind.VISITS)
    campaign(other, "5")
    assert buy(store, customer, "100.00", local(date(2026, 12, 5))) == 100


def test_a_stamp_card_multiplies_its_stamps_per_visit(db, store, customer, settings):
    settings.SHOP_CURRENCY = "SEK"
    stamps = Program.objects.create(name="Stamps", slug="points", kind=Program.Kind.VISITS)
    services.change_earning_rule(program=stamps, actor=None, points_per_visit=1,
                                 effective_from=local(date(2020, 1, 1)))
    campaign(stamps, "2")
    assert buy(store, customer, "35.00", local(date(2026, 12, 5))) == 2


def test_a_refund_takes_back_in_proportion_what_the_campaign_gave(shop, store, customer):
    campaign(shop, "2")
    when = local(date(2026, 12, 5))
    purchase, _ = services.record_purchase(store=store, member=customer, external_id="R1",
                                           amount="100.00", occurred_at=when, now=when)
    services.refund_purchase(purchase=purchase, external_id="R1-a", amount="25.00", now=when)
    assert Membership.objects.get(member=customer, program=shop).balance == 150


# --- Pages ---------------------------------------------------------------------------------


def test_a_manager_starts_a_campaign_and_previews_a_basket(client, manager, shop, store,
                                                           django_assert_max_num_queries):
    client.force_login(manager)
    response = client.post(reverse("staff:campaign_new"), {
        "name": "Coffee week", "program": shop.pk, "multiplier": "3", "starts_on": "2026-12-01",
        "ends_on": "2026-12-07", "category": " coffee ", "is_active": "on"})
    assert response.status_code == 302
    coffee_week = BonusCampaign.objects.get()
    assert (coffee_week.category, coffee_week.created_by) == ("coffee", manager)

    # The first read after the change rebuilds the earning configuration (programs.config).
    with django_assert_max_num_queries(20):
        page = client.get(reverse("staff:campaigns"), {
            "program": shop.pk, "day": "2026-12-03", "store": store.pk, "amount": "150",
            "category": "coffee", "line_amount": "100"}).content.decode()
    # 100 of coffee × 3 + 50 of the rest = 350.
    assert "350 points" in page and "Coffee week" in page


def test_a_campaign_that_cannot_be_is_refused_with_a_reason(client, manager, shop):
    client.force_login(manager)
    response = client.post(reverse("staff:campaign_new"), {
        "name": "Backwards", "program": shop.pk, "multiplier": "1", "starts_on": "2026-12-07",
        "ends_on": "2026-12-01"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "Enter a multiplier above 1 and at most 10." in page
    assert "The last day is before the first." in page
    assert not BonusCampaign.objects.exists()


def test_a_cashier_cannot_run_campaigns(client, cashier, shop):
    client.force_login(cashier)
    assert client.get(reverse("staff:campaigns")).status_code == 403
    assert client.post(reverse("staff:campaign_new"), {"name": "x"}).status_code == 403
