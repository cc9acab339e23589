"""A member answers a survey from the email's one-click link; a manager reads the results."""

import re

import pytest
from django.utils import timezone

from loyalty_site.models import OutboxEmail
from loyalty_site.roles import MANAGER
from surveys import services
from surveys.models import Answer, Survey
from tests.factories import MemberFactory, UserFactory

from .conftest import DESKTOP, PHONE, expect

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_member_answers_from_the_email_link(open_page, screenshot, settings):
    settings.SURVEY_DWELL_SECONDS = 1
    member = MemberFactory(user__name="Mia Member", user__email="mia@example.com")
    survey = Survey.objects.create(name="After a visit", kind=Survey.Kind.NPS)
    invitation = services.invite(survey=survey, member=member, send_after=timezone.now())
    services.send_invitation(invitation_id=invitation.pk)

    email = OutboxEmail.objects.get(kind="survey_invitation", to_email="mia@example.com")
    links = re.findall(r"https?://\S+/s/[^/\s]+/", email.body_text)
    assert len(links) == 11
    # Links point at SITE_URL; the test opens the same path on the live server.
    nine = re.sub(r"^https?://[^/]+", "", links[9])

    page = open_page(PHONE)
    page.goto(nine)
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you!")
    expect(page.get_by_label("9", exact=True)).to_be_checked()
    # Staying on the page a moment confirms the click (a scanner's visit would not).
    expect(page.get_by_test_id("survey-status")).to_have_text("Your answer is counted.")
    assert Answer.objects.get(invitation=invitation).status == Answer.Status.CONFIRMED
    screenshot(page, "answered-phone")

    page.get_by_label("Anything you would like to tell us?").fill("Lovely cinnamon buns")
    page.get_by_role("button", name="Send my answer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Thank you!")
    expect(page.get_by_text("Your answer is saved.")).to_be_visible()
    invitation.refresh_from_db()
    assert invitation.comment.text == "Lovely cinnamon buns"
    screenshot(page, "comment-saved-phone")


def test_manager_reads_a_surveys_results_on_a_desktop(open_page, screenshot, settings):
    settings.SURVEY_MIN_SAMPLE = 3
    manager = UserFactory(name="Maria Manager", email="maria@example.com", role=MANAGER)
    survey = Survey.objects.create(name="After a visit", kind=Survey.Kind.NPS)
    for value, comment in [(10, "Lovely buns"), (9, ""), (7, ""), (3, "Long queue")]:
        invitation = services.invite(survey=survey, member=MemberFactory())
        services.submit_answers(invitation=invitation, values={"recommend": value}, comment=comment)

    page = open_page(DESKTOP, as_user=manager)
    page.goto("/staff/")
    page.get_by_role("link", name="Surveys", exact=True).click()
    page.get_by_role("link", name="After a visit").click()
    # 2 promoters, 1 passive, 1 detractor of 4: 50 % − 25 % = 25.
    expect(page.get_by_test_id("survey-score")).to_contain_text("25")
    expect(page.get_by_text("Long queue")).to_be_visible()
    screenshot(page, "results-desktop")
    page.get_by_role("link", name="Follow-ups").click()
    expect(page.get_by_role("row").filter(has_text="Long queue")).to_be_visible()
    screenshot(page, "follow-ups-desktop")
