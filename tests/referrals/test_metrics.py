"""Referral figures on the dashboard: the same numbers as the selectors, in one query each."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from loyalty_site.dashboard import metric
from programs.metrics import ENGAGEMENT_SOURCES, MetricFilter
from programs.services import find_or_enrol_customer, record_purchase, refund_purchase
from referrals import metrics
from referrals.models import Referral

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_friends(referral_settings, code, store):
    for n, amount in enumerate(["150", "150", None]):
        friend, _created = find_or_enrol_customer(email=f"f{n}@example.org", referral_code=code.code,
                                                  source="api")
        if amount:
            record_purchase(store=store, member=friend, external_id=f"R{n}", amount=amount)
    refunded = Referral.objects.get(friend__user__email="f1@example.org").purchase
    refund_purchase(purchase=refunded, external_id="F1", amount="150")


def this_week():
    today = timezone.localdate()
    return MetricFilter(start=today - timedelta(days=6), end=today)


def test_conversion_and_revenue_on_the_dashboard(three_friends, django_assert_max_num_queries):
    period = this_week()
    with django_assert_max_num_queries(4):
        conversion = metrics.conversion(period)
        revenue = metrics.revenue(period)

    assert (conversion.current.value, conversion.current.sample) == (Decimal("33.3"), 3)
    assert conversion.previous.sample == 0
    assert revenue.current.value == Decimal("150")  # f1's referral was refused: not counted
    assert ENGAGEMENT_SOURCES["referrals"].count(period) == 3
    assert metric("referral_conversion").compute is metrics.conversion
    assert metric("referred_revenue").compute is metrics.revenue
