"""Badges and the visit streak, worked out from purchases."""

from datetime import date, datetime, time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from programs import services
from programs.badges import member_badges, visit_facts

pytestmark = pytest.mark.django_db


def local(day, hour=12):
    return timezone.make_aware(datetime.combine(day, time(hour)))


def visit(store, member, day, receipt):
    services.record_purchase(store=store, member=member, external_id=receipt, amount="10.00",
                             occurred_at=local(day), now=local(day))


def test_a_streak_counts_weeks_in_a_row_and_survives_a_week_not_over_yet(shop, store, customer):
    # Wednesday 2 December 2026; visits in the weeks of 9, 16 and 23 November, none yet this week.
    now = local(date(2026, 12, 2))
    for n, day in enumerate((date(2026, 11, 10), date(2026, 11, 16), date(2026, 11, 29))):
        visit(store, customer, day, f"R{n}")
    assert visit_facts(customer, now) == {"visits": 3, "streak": 3}
    # A gap of a whole week ends it.
    assert visit_facts(customer, now + timedelta(weeks=1))["streak"] == 0


def test_badges_earned_and_not_yet(shop, store, customer):
    now = local(date(2026, 12, 2))
    visit(store, customer, date(2026, 12, 1), "R1")
    earned = {badge.code: has for badge, has in member_badges(customer, now)[0]}
    assert earned["first-visit"] and not earned["tenth-visit"] and not earned["streak-4"]


def test_the_badges_page(client, member, shop, store, django_assert_max_num_queries):
    visit(store, member, timezone.localdate(), "R1")
    client.force_login(member.user)
    # Visits, the streak's weeks, and one query for each badge another app adds.
    with django_assert_max_num_queries(10):
        page = client.get(reverse("portal:badges")).content.decode()
    assert "First purchase" in page and "1 week in a row" in page


def test_a_survey_answered_earns_its_badge_and_referrals_add_theirs(shop, customer):
    from surveys import services as survey_services
    from surveys.models import Survey

    def earned():
        return {badge.code: has for badge, has in member_badges(customer)[0]}

    assert earned()["answered-a-survey"] is False and earned()["referred-a-friend"] is False
    survey = Survey.objects.create(name="How was today?", kind=Survey.Kind.NPS)
    invitation = survey_services.invite(survey=survey, member=customer)
    first = survey.questions()[0][0]
    survey_services.submit_answers(invitation=invitation, values={first: 9}, notify_staff=False)
    assert earned()["answered-a-survey"] is True
