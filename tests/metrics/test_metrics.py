"""Every metric against the hand-computed shop of conftest.py; the expected numbers are worked
out in the comments, not by the code under test."""

from datetime import date
from decimal import Decimal

import pytest

from programs import metrics, rollups
from programs.metrics import Figure, MetricFilter
from programs.models import CustomerFigures, Store

SEPTEMBER = {"start": date(2026, 9, 1), "end": date(2026, 9, 30)}


@pytest.fixture(params=["live", "rolled up to Sep 15", "rolled up", "rolled up to Sep 15, trend kept",
                        "rolled up, trend kept"])
def september(request, small_shop):
    """September, with the purchases read live, from the daily roll-up up to Sep 15 and live
    after, or all from the roll-up; and the same with the closed weeks' customer figures kept
    from an earlier look at the page (for all stores and each): every figure must be the same."""
    if request.param.startswith("rolled up to Sep 15"):
        rollups.roll_up_purchases(today=date(2026, 9, 15))
    elif request.param.startswith("rolled up"):
        rollups.roll_up_purchases()
    if request.param.endswith("trend kept"):
        for store in [None, *Store.objects.all()]:
            metrics.repurchase_rate(MetricFilter(**SEPTEMBER, store=store))
        assert CustomerFigures.objects.filter(retained__isnull=False).exists()
    return MetricFilter(**SEPTEMBER)


def test_previous_period_of_whole_months_is_the_months_before():
    assert MetricFilter(**SEPTEMBER).previous() == MetricFilter(date(2026, 8, 1), date(2026, 8, 31))
    two = MetricFilter(date(2026, 2, 1), date(2026, 3, 31))
    assert two.previous() == MetricFilter(date(2025, 12, 1), date(2026, 1, 31))


def test_previous_period_of_days_is_as_many_days_before():
    assert MetricFilter(date(2026, 9, 10), date(2026, 9, 16)).previous() == MetricFilter(
        date(2026, 9, 3), date(2026, 9, 9))


def test_a_period_cannot_end_before_it_starts():
    with pytest.raises(ValueError, match="before it starts"):
        MetricFilter(date(2026, 9, 2), date(2026, 9, 1))


def test_series_is_twelve_weeks_for_a_month_and_twelve_months_for_longer():
    weeks = MetricFilter(**SEPTEMBER).buckets()
    # September 30th 2026 is a Wednesday: its week starts on Monday the 28th.
    assert [b.start for b in weeks[-2:]] == [date(2026, 9, 21), date(2026, 9, 28)]
    assert weeks[0].start == date(2026, 7, 13) and len(weeks) == 12
    months = MetricFilter(date(2026, 1, 1), date(2026, 9, 30)).buckets()
    assert (months[0].start, months[-1].start, months[-1].end) == (
        date(2025, 10, 1), date(2026, 9, 1), date(2026, 9, 30))


def test_repurchase_rate(september, main_store):
    result = metrics.repurchase_rate(september)
    # September: Ann (2 purchases), Ben (1), Dee (1): 1 of 3.
    assert result.current == Figure(Decimal("33.3"), 3)
    # August: Ann, Ben, Cid, one purchase each.
    assert result.previous == Figure(Decimal("0.0"), 3)
    # At Main Street Ann bought once in September (her second was on the web).
    at_main = metrics.repurchase_rate(MetricFilter(**SEPTEMBER, store=main_store))
    assert at_main.current == Figure(Decimal("0.0"), 2)


def test_repurchase_rate_in_a_program_counts_its_members_only(september, club, web_store):
    # Club: Ann (2 purchases) and Dee (1).
    assert metrics.repurchase_rate(MetricFilter(**SEPTEMBER, program=club)).current == Figure(
        Decimal("50.0"), 2)
    # Club on the web: Ann once (Sep 20), Dee once.
    assert metrics.repurchase_rate(MetricFilter(**SEPTEMBER, program=club, store=web_store)
                                   ).current == Figure(Decimal("0.0"), 2)


def test_repurchase_series_by_week(september):
    series = dict(metrics.repurchase_rate(september).series)
    # Week of Aug 31: Ann (Sep 3) and Ben (Sep 5), once each.
    assert series[date(2026, 8, 31)] == Figure(Decimal("0.0"), 2)
    # Week of Sep 14: Ann on the web only.
    assert series[date(2026, 9, 14)] == Figure(Decimal("0.0"), 1)
    # Week of Sep 21: nobody bought.
    assert series[date(2026, 9, 21)] == Figure(None, 0)


def test_member_sales_and_average_order_value(september, main_store):
    # 200 + 120 + 40 + 50 = 410, less 20 refunded = 390 over 4 purchases.
    assert metrics.member_sales(september).current == Figure(Decimal("390.00"), 4)
    assert metrics.average_order_value(september).current == Figure(Decimal("97.50"), 4)
    # August: 100 + 80 + 60 = 240 over 3.
    assert metrics.average_order_value(september).previous == Figure(Decimal("80.00"), 3)
    # Main Street: 200 + 120 - 20 = 300 over 2.
    assert metrics.average_order_value(MetricFilter(**SEPTEMBER, store=main_store)).current == Figure(
        Decimal("150.00"), 2)


def test_upsell_ratio(september):
    result = metrics.upsell_ratio(september)
    # Ann: coffee and cake (several); Ben: coffee (one); Dee's receipt has no lines.
    assert result.current == Figure(Decimal("1.00"), 2)
    # August: Ann coffee, Ben coffee, Cid tea: nobody bought from two categories.
    assert result.previous == Figure(Decimal("0.00"), 3)


def test_retention_and_churn(september, main_store):
    # August's customers Ann, Ben, Cid; Ann and Ben bought again in September.
    assert metrics.retention_rate(september).current == Figure(Decimal("66.7"), 3)
    assert metrics.churn_rate(september).current == Figure(Decimal("33.3"), 3)
    # At Main Street: August Ann and Ben, both back in September.
    at_main = MetricFilter(**SEPTEMBER, store=main_store)
    assert metrics.retention_rate(at_main).current == Figure(Decimal("100.0"), 2)
    assert metrics.churn_rate(at_main).current == Figure(Decimal("0.0"), 2)
    # July had no customers: nothing to retain, so no value rather than a division by zero.
    assert metrics.retention_rate(september).previous == Figure(None, 0)


def test_customer_lifetime_value(september, settings):
    settings.METRICS_GROSS_MARGIN = "0.5"
    settings.METRICS_CUSTOMER_LIFESPAN_YEARS = "2"
    # 390 sales / 3 customers = 130 per customer in 30 days; × 365 / 30 = 1581.666… a year;
    # × 2 years × 0.5 margin = 1581.67.
    assert metrics.customer_lifetime_value(september).current == Figure(Decimal("1581.67"), 3)
    # August: 240 / 3 = 80 in 31 days; × 365 / 31 = 941.935…; × 2 × 0.5 = 941.94.
    assert metrics.customer_lifetime_value(september).previous == Figure(Decimal("941.94"), 3)


def test_engagement_score(september, main_store):
    # 4 visits × 1 + 1 reward × 3 = 7 over the 5 members who had joined by Sep 30.
    assert metrics.engagement_score(september).current == Figure(Decimal("1.40"), 5)
    # Main Street: Ann and Ben joined there; 2 visits, the reward was not used at a till.
    assert metrics.engagement_score(MetricFilter(**SEPTEMBER, store=main_store)).current == Figure(
        Decimal("1.00"), 2)
    # August: 3 visits over Ann, Ben, Cid and Eve (Dee joined in September).
    assert metrics.engagement_score(september).previous == Figure(Decimal("0.75"), 4)


def test_engagement_counts_a_registered_source(september):
    source = metrics.EngagementSource(key="test-answers", label="answers", weight=2,
                                      count=lambda period: 5)
    metrics.register_engagement_source(source)
    try:
        # 7 + 5 × 2 = 17 over 5 members.
        assert metrics.engagement_score(september).current == Figure(Decimal("3.40"), 5)
    finally:
        del metrics.ENGAGEMENT_SOURCES["test-answers"]


def test_new_members(september, club):
    assert metrics.new_members(september).current == Figure(1, 5)
    assert metrics.new_members(september).previous == Figure(0, 4)
    # Both club members joined it on Jan 1st.
    assert metrics.new_members(MetricFilter(**SEPTEMBER, program=club)).current == Figure(0, 2)


def test_points_outstanding_and_liability(september, club):
    # End of September: Ann 100+200+50-100 = 250, Ben 80+120-20 = 180, Cid 60, Dee 40,
    # Eve 30-30 = 0: 530 in "points" (Cid's 60 of October 5th is after the period).
    assert metrics.points_outstanding(september).current == Figure(530, 2)
    assert metrics.points_liability(september).current == Figure(Decimal("53.00"), 2)
    # End of August: Ann 100, Ben 80, Cid 60.
    assert metrics.points_outstanding(september).previous == Figure(240, 2)
    assert metrics.points_liability(september).previous == Figure(Decimal("24.00"), 2)
    # The club has no point value and nobody earns in it.
    assert metrics.points_liability(MetricFilter(**SEPTEMBER, program=club)).current == Figure(
        Decimal("0.00"), 1)
    assert not metrics.points_outstanding(september).store_filtered


def test_redemption_rate(september):
    # Earned in September: 200 + 120 + 40 + 50 = 410, less 20 reversed = 390; spent 100.
    # Four purchases earned points.
    assert metrics.redemption_rate(september).current == Figure(Decimal("25.6"), 4)
    # August: 240 earned by three purchases, nothing spent (Eve's points expired).
    assert metrics.redemption_rate(september).previous == Figure(Decimal("0.0"), 3)


def test_breakage_rate(september):
    # The year to Sep 30: Eve's 30 expired, Ann's 100 spent: 30 / 130, from two entries.
    assert metrics.breakage_rate(september).current == Figure(Decimal("23.1"), 2)
    # The year to Aug 31: only Eve's 30, expired.
    assert metrics.breakage_rate(september).previous == Figure(Decimal("100.0"), 1)


def test_points_expiring_next_month(september):
    # In August 2027 Ben's 80 (Aug 15) and Cid's 60 (Aug 20) expire; Ann's August lot was
    # spent on the coffee, oldest first.
    result = metrics.points_expiring_next_month(september, today=date(2027, 7, 15))
    assert result.current == Figure(140, 2)
    assert result.previous is None and result.series == []
    assert metrics.next_month(date(2026, 12, 31)) == (date(2027, 1, 1), date(2027, 1, 31))


@pytest.mark.parametrize("metric", [
    metrics.repurchase_rate, metrics.member_sales, metrics.average_order_value,
    metrics.upsell_ratio, metrics.retention_rate, metrics.churn_rate,
    metrics.customer_lifetime_value, metrics.engagement_score, metrics.new_members,
    metrics.points_outstanding, metrics.points_liability, metrics.redemption_rate,
    metrics.breakage_rate, metrics.points_expiring_next_month,
])
def test_no_data_gives_no_value_and_no_error(db, metric):
    result = metric(MetricFilter(**SEPTEMBER))
    assert result.current.sample == 0
    assert result.current.value in (None, 0, Decimal("0.00"))
    assert all(figure.sample == 0 for _, figure in result.series)


def test_points_metrics_read_the_daily_roll_up_alike(september, club):
    """The same figures whether the ledger is rolled up to Sep 15 (the rest read live), to
    today, or not at all; and a second roll-up adds nothing."""
    from programs.models import LedgerEntry, PointsDay
    from programs.rollups import roll_up_points

    points = [metrics.points_outstanding, metrics.points_liability, metrics.redemption_rate,
              metrics.breakage_rate]
    live = [metric(MetricFilter(**SEPTEMBER)) for metric in points]
    assert roll_up_points(today=date(2026, 9, 15)) > 0
    assert [metric(MetricFilter(**SEPTEMBER)) for metric in points] == live
    assert roll_up_points() > 0
    assert roll_up_points() == 0
    assert [metric(MetricFilter(**SEPTEMBER)) for metric in points] == live
    # Sep 21: Ann's coffee, one entry of -100 in "points".
    assert PointsDay.objects.get(day=date(2026, 9, 21), kind=LedgerEntry.Kind.REDEEM).points == -100
    assert metrics.points_outstanding(MetricFilter(**SEPTEMBER, program=club)).current == Figure(0, 1)


@pytest.mark.parametrize("metric", [
    metrics.repurchase_rate, metrics.member_sales, metrics.upsell_ratio, metrics.retention_rate,
    metrics.engagement_score, metrics.new_members,
])
@pytest.mark.parametrize("filters", ["", "store", "program"])
def test_series_in_one_query_agree_with_each_bucket_alone(small_shop, main_store, club, metric,
                                                          filters):
    """The trend is computed for all buckets at once; each bucket computed on its own (by hand
    for repurchase above) must give the same figure."""
    extra = {"store": main_store} if filters == "store" else {"program": club} if filters else {}
    for period in (MetricFilter(**SEPTEMBER, **extra),
                   MetricFilter(date(2026, 1, 1), date(2026, 9, 30), **extra)):
        for start, figure in metric(period).series:
            bucket = next(b for b in period.buckets() if b.start == start)
            alone = MetricFilter(bucket.start, bucket.end, **extra)
            assert metric(alone).current == figure, (start, filters)
