"""The composite loyalty index: NPS (from the surveys app, through the registry), repurchase
rate and upsell share, each on 0–100."""

from datetime import date
from decimal import Decimal

from loyalty_site import dashboard
from programs.metrics import Figure, MetricFilter, MetricResult

SEPTEMBER = MetricFilter(date(2026, 9, 1), date(2026, 9, 30))


def _fake_nps(period):
    return MetricResult(Figure(Decimal(40), 50), Figure(Decimal(-20), 40),
                        [(bucket.start, Figure(None, 0)) for bucket in period.buckets()])


def test_loyalty_index_averages_its_three_parts(small_shop, no_minimum_samples):
    nps = dashboard.metric("nps")
    dashboard.register(dashboard.Metric(
        key="nps", section=nps.section, label=nps.label, formula=nps.formula, compute=_fake_nps,
        unit=nps.unit, sample_label=nps.sample_label))
    result = dashboard.loyalty_index(MetricFilter(SEPTEMBER.start, SEPTEMBER.end))
    # September: NPS 40 -> 70 on 0-100; repurchase 33.3; upsell share: Ann of Ann and Ben, 50.0.
    # (70 + 33.3 + 50) / 3 = 51.1; sample: the smallest, 2 customers with categories.
    assert result.current == Figure(Decimal("51.1"), 2)
    # August: NPS -20 -> 40; repurchase 0.0; upsell share 0 of 3: 40 / 3 = 13.3.
    assert result.previous == Figure(Decimal("13.3"), 3)
    # No NPS in the trend's weeks: no index there either.
    assert all(figure.value is None for _, figure in result.series)


def test_loyalty_index_waits_for_enough_data(small_shop):
    # With the real minimum samples, three customers are too few for a repurchase rate.
    result = dashboard.loyalty_index(MetricFilter(SEPTEMBER.start, SEPTEMBER.end))
    assert result.current.value is None
