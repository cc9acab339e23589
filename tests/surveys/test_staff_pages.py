"""The staff pages: who may open them, what they show, and a bounded number of queries each."""

import pytest
from django.urls import reverse

from surveys import models as survey_models
from surveys import services
from surveys.models import Survey

from ..factories import MemberFactory

pytestmark = pytest.mark.django_db


def answered(survey, value, *, store=None, comment=""):
    invitation = services.invite(survey=survey, member=MemberFactory(), store=store)
    services.submit_answers(invitation=invitation, values={"recommend": value}, comment=comment)
    return invitation


@pytest.fixture
def answered_survey(nps_survey, store, settings):
    settings.SURVEY_MIN_SAMPLE = 3
    for value, comment in [(10, "Great"), (9, ""), (8, ""), (3, "Queue too long")]:
        answered(nps_survey, value, store=store, comment=comment)
    return nps_survey


def test_results_show_the_score_sample_interval_and_comments(client, manager, answered_survey):
    client.force_login(manager)
    response = client.get(reverse("staff:survey_results", args=[answered_survey.pk]))
    assert response.status_code == 200
    results = response.context["results"]
    # 2 promoters, 1 passive, 1 detractor of 4: 50 − 25 = 25.
    assert (results["score"], results["n"]) == (25.0, 4)
    page = response.content.decode()
    assert "Queue too long" in page and "95 % interval" in page and "Promoters: 50.0 %" in page


def test_below_the_minimum_sample_there_is_no_headline(client, manager, answered_survey, settings):
    settings.SURVEY_MIN_SAMPLE = 30
    client.force_login(manager)
    response = client.get(reverse("staff:survey_results", args=[answered_survey.pk]))
    assert response.context["results"]["score"] is None
    assert "Not enough answers for a score yet: 4 of at least 30" in response.content.decode()


def test_results_filter_by_store_and_refuse_a_backwards_period(client, manager, answered_survey):
    client.force_login(manager)
    from ..factories import StoreFactory

    other = StoreFactory(code="other")
    url = reverse("staff:survey_results", args=[answered_survey.pk])
    assert client.get(url, {"store": other.pk}).context["results"]["n"] == 0
    response = client.get(url, {"start": "2026-02-01", "end": "2026-01-01"})
    assert "The end comes before the start." in response.content.decode()
    assert response.context["results"]["n"] == 4


def test_a_cashier_and_a_member_cannot_open_survey_pages(client, cashier, member, nps_survey):
    for person in (cashier, member.user):
        client.force_login(person)
        for name, args in [("staff:surveys", []), ("staff:survey_results", [nps_survey.pk]),
                           ("staff:survey_new", []), ("staff:survey_follow_ups", [])]:
            assert client.get(reverse(name, args=args)).status_code == 403, (person, name)


def test_a_manager_creates_a_survey_and_bad_input_changes_nothing(client, manager, shop):
    client.force_login(manager)
    url = reverse("staff:survey_new")
    data = {"name": "After visit", "kind": "csat", "nps_scale": "0-10", "is_active": "on",
            "send_after_purchase": "on", "delay_hours": "2", "min_days_between": "30",
            "answer_days": "14", "edit_hours": "48", "points": "10", "follow_up_days": "2"}
    response = client.post(url, data)
    assert response.status_code == 400
    assert "Choose the program the points are paid in." in response.content.decode()
    assert not Survey.objects.exists()
    response = client.post(url, {**data, "points_program": shop.pk})
    survey = Survey.objects.get()
    assert response.status_code == 302 and survey.points == 10 and survey.kind == "csat"


def test_the_csv_export_has_a_row_per_answer(client, manager, answered_survey):
    client.force_login(manager)
    response = client.get(reverse("staff:survey_export", args=[answered_survey.pk]))
    lines = b"".join(response.streaming_content).decode().strip().splitlines()
    assert lines[0].startswith("answered_at,member,store,recommend,scale")
    assert len(lines) == 5
    assert any("Queue too long" in line for line in lines)


def test_a_manager_approves_a_testimonial(client, manager, nps_survey):
    invitation = services.invite(survey=nps_survey, member=MemberFactory())
    services.submit_answers(invitation=invitation, values={"recommend": 10}, comment="Best bakery",
                            testimonial_consent=True)
    testimonial = survey_models.Testimonial.objects.get()
    client.force_login(manager)
    assert "Best bakery" in client.get(reverse("staff:survey_testimonials")).content.decode()
    client.post(reverse("staff:survey_review_testimonial", args=[testimonial.pk]),
                {"decision": "approve"})
    testimonial.refresh_from_db()
    assert testimonial.status == "approved" and testimonial.reviewed_by == manager


@pytest.mark.parametrize("name", ["staff:surveys", "staff:survey_results", "staff:survey_edit",
                                  "staff:survey_send", "staff:survey_follow_ups",
                                  "staff:survey_testimonials"])
def test_each_staff_page_does_a_bounded_number_of_queries(client, manager, answered_survey, name,
                                                          django_assert_max_num_queries):
    for value in (1, 2, 10):
        answered(answered_survey, value, comment="More")
    client.force_login(manager)
    args = [answered_survey.pk] if name in ("staff:survey_results", "staff:survey_edit",
                                            "staff:survey_send") else []
    with django_assert_max_num_queries(16):
        assert client.get(reverse(name, args=args)).status_code == 200


def test_the_follow_up_page_does_a_bounded_number_of_queries(client, manager, nps_survey,
                                                             django_assert_max_num_queries):
    invitation = answered(nps_survey, 2, comment="Rude")
    client.force_login(manager)
    with django_assert_max_num_queries(14):
        response = client.get(reverse("staff:survey_follow_up", args=[invitation.follow_up.pk]))
    assert "Rude" in response.content.decode()


def test_the_receipt_page_shows_a_qr_code_for_the_purchase(client, cashier, shop, store, customer,
                                                           nps_survey, django_assert_max_num_queries):
    from programs.services import record_purchase

    purchase, _ = record_purchase(store=store, member=customer, external_id="R9", amount="50")
    client.force_login(cashier)
    with django_assert_max_num_queries(10):
        response = client.get(reverse("staff:survey_receipt", args=[purchase.pk]))
    page = response.content.decode()
    assert response.status_code == 200 and "<svg" in page and "/s/" in page


def test_results_filter_by_the_members_tier(client, manager, shop, answered_survey):
    from programs.models import Membership, Tier

    gold = Tier.objects.create(program=shop, name="Gold", rank=1, threshold=1000)
    promoter = answered(answered_survey, 10)
    Membership.objects.create(member=promoter.member, program=shop, tier=gold)
    client.force_login(manager)
    response = client.get(reverse("staff:survey_results", args=[answered_survey.pk]),
                          {"tier": gold.pk})
    assert response.context["results"]["n"] == 1
    assert response.context["results"]["value"] == 100.0
