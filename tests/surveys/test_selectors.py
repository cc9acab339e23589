"""What the dashboard reads: index summaries by period and store, never mixing NPS scales,
only confirmed answers, and trends by week or month."""

from datetime import timedelta

import pytest
from django.utils import timezone

from surveys import selectors, services
from surveys.models import Invitation, Survey

from ..factories import MemberFactory, StoreFactory

pytestmark = pytest.mark.django_db


def answer(survey, values, *, store=None, when=None):
    invitation = services.invite(survey=survey, member=MemberFactory(), store=store)
    services.submit_answers(invitation=invitation, values=values)
    if when is not None:
        Invitation.objects.filter(pk=invitation.pk).update(confirmed_at=when)
    return invitation


def test_nps_summary_counts_confirmed_answers_of_one_scale_in_the_period(settings):
    settings.SURVEY_MIN_SAMPLE = 2
    main, other = StoreFactory(code="a"), StoreFactory(code="b")
    ten = Survey.objects.create(name="NPS 0-10", kind="nps", nps_scale="0-10")
    five = Survey.objects.create(name="NPS 1-5", kind="nps", nps_scale="1-5")
    now = timezone.now()
    answer(ten, {"recommend": 10}, store=main)
    answer(ten, {"recommend": 9}, store=main)
    answer(ten, {"recommend": 2}, store=other)
    answer(ten, {"recommend": 0}, store=main, when=now - timedelta(days=40))
    answer(five, {"recommend": 5}, store=main)
    services.record_click(invitation=services.invite(survey=ten, member=MemberFactory()),
                          question="recommend", value=0)

    period = (now - timedelta(days=7), now + timedelta(minutes=1))
    summary = selectors.nps_summary(*period)
    # 2 promoters and 1 detractor on 0–10 this week; the 1–5 answer and the click do not count.
    assert (summary["score"], summary["n"]) == (33.3, 3)
    assert summary["parts"] == {"detractor": 1, "passive": 0, "promoter": 2}
    assert selectors.nps_summary(*period, store=main)["score"] == 100.0
    assert selectors.nps_summary(*period, scale="1-5")["n"] == 1
    assert selectors.nps_summary(*period, scale="1-5")["score"] is None  # below the minimum
    assert selectors.index_summary("nps", period[0].date(), None)["n"] == 3


def test_trend_by_month_groups_answers_by_when_they_were_given():
    survey = Survey.objects.create(name="CSAT", kind="csat")
    now = timezone.now()
    answer(survey, {"satisfied": 5})
    answer(survey, {"satisfied": 2}, when=now - timedelta(days=62))
    trend = selectors.index_trend("csat", by="month")
    assert [row["value"] for _day, row in trend] == [0.0, 100.0]
    assert all(day.day == 1 for day, _row in trend)


def test_each_summary_is_two_queries_at_most(django_assert_max_num_queries):
    survey = Survey.objects.create(name="CLI", kind="cli")
    for _ in range(5):
        answer(survey, {"recommend": 1, "buy_again": 2, "try_other": 3})
    with django_assert_max_num_queries(2):
        assert selectors.index_summary("cli")["value"] == 80.0


def test_the_dashboard_shows_the_indexes_from_one_query_each(django_assert_max_num_queries):
    from loyalty_site import dashboard
    from programs.metrics import MetricFilter

    survey = Survey.objects.create(name="NPS", kind="nps")
    answer(survey, {"recommend": 10})
    answer(survey, {"recommend": 0})
    answer(survey, {"recommend": 9}, when=timezone.now() - timedelta(days=45))
    today = timezone.localdate()
    period = MetricFilter(start=today - timedelta(days=29), end=today)
    metric = dashboard.metric("nps")
    assert metric.section == "satisfaction"
    with django_assert_max_num_queries(1):
        result = metric.compute(period)
    assert (result.current.value, result.current.sample) == (0, 2)
    assert (result.previous.value, result.previous.sample) == (100, 1)
    assert sum(figure.sample for _day, figure in result.series) == 3
    assert {m.key for m in dashboard.registered()} >= {"nps", "csat", "ces", "how_was_today",
                                                      "cli", "secure_customers"}
