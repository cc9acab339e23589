"""Members by tier, paid memberships, and the tier and segment filters, against the small shop
of conftest.py (numbers worked out in the comments); and the purchases roll-up against live."""

import dataclasses
from datetime import date, timedelta
from decimal import Decimal

import pytest

from loyalty_site import dashboard
from programs import metrics, rollups, services, subscriptions
from programs.models import (
    CustomerFigures,
    Membership,
    Plan,
    PurchaseDay,
    PurchaseRollUp,
    Segment,
    Tier,
)
from programs.purchases import refund_purchase

from .conftest import at

SEPTEMBER = {"start": date(2026, 9, 1), "end": date(2026, 9, 30)}
Figure = metrics.Figure


@pytest.fixture
def tiers(small_shop, shop):
    """Silver and Gold in the "points" program: Ann is Gold, Ben Silver, the rest in no tier."""
    silver = Tier.objects.create(program=shop, name="Silver", rank=1, threshold=100)
    gold = Tier.objects.create(program=shop, name="Gold", rank=2, threshold=500)
    Membership.objects.filter(member=small_shop["ann"], program=shop).update(tier=gold)
    Membership.objects.filter(member=small_shop["ben"], program=shop).update(tier=silver)
    return {"silver": silver, "gold": gold}


@pytest.fixture
def web_buyers(small_shop, web_store):
    """Members who ever bought on the web: Ann (Sep 20), Cid and Dee."""
    return Segment.objects.create(name="Web buyers", store=web_store)


def test_members_by_tier(tiers, main_store, shop):
    # "points" memberships: Ann, Ben, Cid, Dee, Eve (each bought); Ann Gold, Ben Silver.
    result = metrics.members_by_tier(metrics.MetricFilter(**SEPTEMBER))
    assert result.current == Figure(2, 5)
    assert [(str(label), figure.value) for label, figure in result.breakdown] == [
        ("Points: Silver", 1), ("Points: Gold", 1), ("no tier", 3)]
    assert result.previous is None and result.series == []
    gold = metrics.members_by_tier(metrics.MetricFilter(**SEPTEMBER, program=shop, tier=tiers["gold"]))
    assert gold.current == Figure(1, 1)
    # Joined at Main Street: Ann and Ben, both in a tier.
    assert metrics.members_by_tier(metrics.MetricFilter(**SEPTEMBER, store=main_store)).current == (
        Figure(2, 2))


def test_members_by_tier_without_tiers(small_shop):
    assert metrics.members_by_tier(metrics.MetricFilter(**SEPTEMBER)).current == Figure(0, 0)


def test_customer_figures_follow_tier_and_segment(tiers, web_buyers, main_store, shop):
    gold = {"program": shop, "tier": tiers["gold"]}
    # Gold is Ann: two purchases in September, and she bought in August too.
    assert metrics.repurchase_rate(metrics.MetricFilter(**SEPTEMBER, **gold)).current == Figure(
        Decimal("100.0"), 1)
    assert metrics.retention_rate(metrics.MetricFilter(**SEPTEMBER, **gold)).current == Figure(
        Decimal("100.0"), 1)
    # 200 + 50 by Ann.
    assert metrics.member_sales(metrics.MetricFilter(**SEPTEMBER, **gold)).current == Figure(
        Decimal("250.00"), 2)
    # Web buyers in September: Ann twice, Dee once.
    web = metrics.MetricFilter(**SEPTEMBER, segment=web_buyers)
    assert metrics.repurchase_rate(web).current == Figure(Decimal("50.0"), 2)
    # Ann's coffee and cake; Dee's receipt has no lines: one several, none single.
    assert metrics.upsell_ratio(web).current == Figure(None, 1)
    # August's web buyers Ann and Cid; Ann came back.
    assert metrics.churn_rate(web).current == Figure(Decimal("50.0"), 2)
    # Web buyers at Main Street in September: Ann once.
    both = metrics.MetricFilter(**SEPTEMBER, segment=web_buyers, store=main_store)
    assert metrics.repurchase_rate(both).current == Figure(Decimal("0.0"), 1)
    # Silver and the web buyers: nobody is both.
    nobody = metrics.MetricFilter(**SEPTEMBER, program=shop, tier=tiers["silver"], segment=web_buyers)
    assert metrics.repurchase_rate(nobody).current == Figure(None, 0)
    assert metrics.engagement_score(nobody).current == Figure(None, 0)


def test_engagement_and_new_members_follow_the_tier(tiers):
    gold = metrics.MetricFilter(**SEPTEMBER, tier=tiers["gold"])
    # Ann: 2 visits + 1 reward × 3 = 5, over 1 member.
    assert metrics.engagement_score(gold).current == Figure(Decimal("5.00"), 1)
    # Ann joined on Jan 5th.
    assert metrics.new_members(gold).current == Figure(0, 1)


def test_points_figures_say_they_ignore_tier_and_segment(tiers, web_buyers, shop):
    period = metrics.MetricFilter(**SEPTEMBER, segment=web_buyers)
    assert period.narrows_members
    result = metrics.points_outstanding(period)
    assert not result.member_filtered
    # The whole program's 530 points (see test_metrics), not the segment's.
    assert result.current == Figure(530, 2)


@pytest.fixture
def vip(shop):
    return Plan.objects.create(program=shop, name="VIP", price=Decimal("99.00"))


@pytest.fixture
def paying(small_shop, vip, tiers):
    """Ben pays for VIP on Aug 20 (to Sep 20), cancels and lapses; Ann pays on Sep 10."""
    ann, ben = small_shop["ann"], small_shop["ben"]
    ben_plan = subscriptions.record_subscription_payment(
        member=ben, plan=vip, amount="99.00", method="cash", now=at(2026, 8, 20)).subscription
    subscriptions.cancel_subscription(subscription=ben_plan, now=at(2026, 8, 25))
    subscriptions.advance_subscriptions(now=at(2026, 9, 21))
    subscriptions.record_subscription_payment(member=ann, plan=vip, amount="99.00", method="cash",
                                              now=at(2026, 9, 10))
    return small_shop


def test_paid_memberships(paying):
    period = metrics.MetricFilter(**SEPTEMBER)
    # On Oct 1st only Ann's month (Sep 10 to Oct 10) runs: 99 a month, one subscriber.
    assert metrics.monthly_recurring_revenue(period).current == Figure(Decimal("99.00"), 1)
    assert metrics.active_subscribers(period).current == Figure(1, 1)
    # Taken in September: Ann's 99.
    assert metrics.paid_membership_revenue(period).current == Figure(Decimal("99.00"), 1)
    # On Sep 1st Ben's month ran; he lapsed on Sep 21: 1 of 1.
    assert metrics.paid_membership_churn(period).current == Figure(Decimal("100.0"), 1)
    # August: Ben's 99 taken, running on Sep 1st; nobody ran on Aug 1st.
    assert metrics.paid_membership_revenue(period).previous == Figure(Decimal("99.00"), 1)
    assert metrics.paid_membership_churn(period).previous == Figure(None, 0)
    assert not metrics.monthly_recurring_revenue(period).store_filtered


def test_paid_memberships_follow_the_tier(paying, tiers, shop):
    # Gold is Ann: her month runs on Oct 1st; Ben (Silver) is left out, so no churn.
    gold = metrics.MetricFilter(**SEPTEMBER, program=shop, tier=tiers["gold"])
    assert metrics.monthly_recurring_revenue(gold).current == Figure(Decimal("99.00"), 1)
    assert metrics.paid_membership_churn(gold).current == Figure(None, 0)
    silver = metrics.MetricFilter(**SEPTEMBER, program=shop, tier=tiers["silver"])
    assert metrics.paid_membership_churn(silver).current == Figure(Decimal("100.0"), 1)
    assert metrics.paid_membership_revenue(silver).current == Figure(Decimal("0.00"), 0)


@pytest.mark.parametrize("metric", [
    metrics.members_by_tier, metrics.monthly_recurring_revenue, metrics.active_subscribers,
    metrics.paid_membership_revenue, metrics.paid_membership_churn,
])
def test_no_data_gives_no_value_and_no_error(db, metric):
    result = metric(metrics.MetricFilter(**SEPTEMBER))
    assert result.current.sample == 0
    assert result.current.value in (None, 0, Decimal("0.00"))


CUSTOMER_METRICS = [metrics.repurchase_rate, metrics.member_sales, metrics.upsell_ratio,
                    metrics.retention_rate, metrics.customer_lifetime_value]


def _figures(**filters):
    return [metric(metrics.MetricFilter(**SEPTEMBER, **filters)) for metric in CUSTOMER_METRICS]


def test_roll_up_counts_late_receipts_and_refunds_on_its_next_run(small_shop, web_store):
    # From Eve's first purchase (2025-08-01) to the day before Oct 10th 2026: 435 days.
    assert rollups.roll_up_purchases(now=at(2026, 10, 10)) == {"days": 435, "rewritten": 0}
    assert rollups.roll_up_purchases(now=at(2026, 10, 10, 13)) == {"days": 0, "rewritten": 0}
    # Sep 3 at Main Street: Ann's 200 of coffee and cake.
    row = PurchaseDay.objects.get(day=date(2026, 9, 3))
    assert (row.purchases, row.amount, row.refunded, row.first_category, row.last_category) == (
        1, Decimal("200.00"), Decimal("0.00"), "cake", "coffee")
    # A till that was offline sends Cid's receipt of Sep 25 on Oct 11; Ann's Sep 3 is refunded.
    services.record_purchase(store=web_store, member=small_shop["cid"], external_id="C9",
                             amount=Decimal("30"), occurred_at=at(2026, 9, 25), now=at(2026, 10, 11),
                             items=[{"sku": "tea-1", "category": "tea", "quantity": 1,
                                     "unit_price": "30"}])
    refund_purchase(purchase=small_shop["ann"].purchases.get(external_id="A2"), external_id="R2",
                    amount=Decimal("50"), now=at(2026, 10, 11))
    # Before the next run the roll-up still has the days as they were.
    assert metrics.member_sales(metrics.MetricFilter(**SEPTEMBER)).current == Figure(
        Decimal("390.00"), 4)
    assert rollups.roll_up_purchases(now=at(2026, 10, 12)) == {"days": 2, "rewritten": 2}
    assert PurchaseDay.objects.get(day=date(2026, 9, 3)).refunded == Decimal("50.00")
    rolled = _figures()
    # Read live, without the roll-up: the same figures.
    PurchaseDay.objects.all().delete()
    PurchaseRollUp.objects.all().delete()
    assert _figures() == [dataclasses.replace(f, rolled_up_at=None) for f in rolled]
    # September: Ann, Ben, Cid, Dee; 390 + 30 - 50 over five purchases.
    assert metrics.member_sales(metrics.MetricFilter(**SEPTEMBER)).current == Figure(
        Decimal("370.00"), 5)


def test_closed_weeks_are_kept_read_back_and_dropped_from_a_late_change_on(small_shop, web_store):
    rollups.roll_up_purchases(now=at(2026, 10, 10))
    first = _figures()
    # September and the two months before (the period, its previous one and the one before
    # that, for the previous one's retention), June too (retention asks for August's customers
    # first), and the trend: twelve weeks from Jul 13 to Oct 4 and the week before, Jul 6–12.
    # The roll-up has closed every day before Oct 10.
    kept = {(k.start, k.end): k.retained for k in CustomerFigures.objects.filter(store=None)}
    months = [(date(2026, 6, 1), date(2026, 6, 30)), (date(2026, 7, 1), date(2026, 7, 31)),
              (date(2026, 8, 1), date(2026, 8, 31)), (date(2026, 9, 1), date(2026, 9, 30))]
    weeks = [(date(2026, 7, 6) + timedelta(weeks=n), date(2026, 7, 12) + timedelta(weeks=n))
             for n in range(13)]
    assert sorted(kept) == sorted(months + weeks)
    # Only the first of a run has no customers retained, until a later run has it whole.
    assert {k for k, retained in kept.items() if retained is None} == {months[0], weeks[0]}
    # A second look reads them back and finds the same figures.
    assert _figures() == first

    # A till that was offline sends Cid's receipt of Sep 25 on Oct 11: the next run drops the
    # weeks from the one holding Sep 25 on, and the figures count the receipt as read live do.
    services.record_purchase(store=web_store, member=small_shop["cid"], external_id="C9",
                             amount=Decimal("30"), occurred_at=at(2026, 9, 25), now=at(2026, 10, 11))
    rollups.roll_up_purchases(now=at(2026, 10, 12))
    assert not CustomerFigures.objects.filter(end__gte=date(2026, 9, 25)).exists()
    assert CustomerFigures.objects.filter(end__lt=date(2026, 9, 21)).exists()
    with_receipt = _figures()
    CustomerFigures.objects.all().delete()
    PurchaseDay.objects.all().delete()
    PurchaseRollUp.objects.all().delete()
    assert _figures() == [dataclasses.replace(f, rolled_up_at=None) for f in with_receipt]


def test_figures_are_not_kept_when_the_roll_up_ran_while_they_were_computed(small_shop):
    rollups.roll_up_purchases(now=at(2026, 10, 10))
    period = metrics.MetricFilter(**SEPTEMBER)
    period.purchases_rolled_up()  # the mark as the computation starts
    rollups.roll_up_purchases(now=at(2026, 10, 10, 14))  # then a run moves it on
    metrics.repurchase_rate(period)
    assert not CustomerFigures.objects.exists()
    metrics.repurchase_rate(metrics.MetricFilter(**SEPTEMBER))
    assert CustomerFigures.objects.count() == 16


def test_no_figures_are_kept_for_a_program_tier_or_segment(small_shop, club):
    rollups.roll_up_purchases(now=at(2026, 10, 10))
    metrics.repurchase_rate(metrics.MetricFilter(**SEPTEMBER, program=club))
    assert not CustomerFigures.objects.exists()


def test_rebuild_gives_the_same_rows(small_shop):
    rollups.roll_up_purchases()
    rows = sorted(PurchaseDay.objects.values_list(
        "day", "member", "store", "purchases", "amount", "refunded", "first_category",
        "last_category"))
    rollups.rebuild_purchase_days()
    assert sorted(PurchaseDay.objects.values_list(
        "day", "member", "store", "purchases", "amount", "refunded", "first_category",
        "last_category")) == rows


def test_filter_form_tier_of_another_program(tiers, club):
    form = dashboard.DashboardFilterForm({"start": "2026-09-01", "end": "2026-09-30",
                                          "program": club.pk, "tier": tiers["gold"].pk})
    assert not form.is_valid()
    assert "another program" in form.errors["tier"][0]


def test_filter_form_tier_chooses_its_program(tiers, web_buyers, shop):
    form = dashboard.DashboardFilterForm({"start": "2026-09-01", "end": "2026-09-30",
                                          "tier": tiers["gold"].pk, "segment": web_buyers.pk})
    assert form.is_valid(), form.errors
    period = form.period()
    assert (period.program, period.tier, period.segment) == (shop, tiers["gold"], web_buyers)


def test_warm_default_view_fills_the_cache(small_shop, django_assert_max_num_queries):
    from django.core.cache import cache

    cache.clear()
    count = dashboard.warm_default_view()
    assert count == len(dashboard.registered())
    form = dashboard.DashboardFilterForm.from_query({})
    assert form.is_valid()
    with django_assert_max_num_queries(0):
        dashboard.read(form.period())


def test_page_with_tier_and_segment(client, manager, tiers, web_buyers, paying, no_minimum_samples,
                                    django_assert_max_num_queries):
    from django.urls import reverse

    client.force_login(manager)
    query = {"start": "2026-09-01", "end": "2026-09-30", "tier": tiers["gold"].pk,
             "segment": web_buyers.pk}
    with django_assert_max_num_queries(200):
        page = client.get(reverse("staff:metrics"), query).content.decode()
    # Gold web buyers: Ann alone, 200 + 50 in September; her VIP month runs on Oct 1st.
    assert "SEK250.00" in page and "SEK99.00" in page
    assert "All tiers and segments: this figure follows the program only." in page
    assert "Points: Gold" in page
    # The quick periods keep the filters.
    assert f"tier={tiers['gold'].pk}" in page and f"segment={web_buyers.pk}" in page


def test_hourly_task_rolls_up_purchases_and_the_warming_task_is_scheduled(small_shop, settings):
    from loyalty_site.tasks import warm_dashboard
    from programs.tasks import roll_up_points_days

    assert roll_up_points_days()["purchases"]["days"] > 0
    # Sep 5 at Main Street: Ben's 120, 20 of it refunded.
    assert PurchaseDay.objects.get(day=date(2026, 9, 5)).refunded == Decimal("20.00")
    assert warm_dashboard() == {"metrics": len(dashboard.registered())}
    assert settings.CELERY_BEAT_SCHEDULE["dashboard-warm"]["task"] == "loyalty_site.tasks.warm_dashboard"
