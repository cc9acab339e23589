"""Closing the loop: follow-ups for unhappy answers, testimonials from promoters, points for
answering (once, whatever the score), and the member's own survey pages."""

import pytest
from django.urls import reverse
from django.utils import timezone

from loyalty_site.models import OutboxEmail, StaffAction
from programs.models import LedgerEntry, Membership
from programs.selectors import ledger_breaches
from surveys import models as survey_models
from surveys import services
from surveys.models import FollowUp, Survey

from ..factories import MemberFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_a_detractor_opens_a_follow_up_and_emails_the_managers(manager, invitation):
    services.submit_answers(invitation=invitation, values={"recommend": 4}, comment="Cold food")
    follow_up = FollowUp.objects.get(invitation=invitation)
    assert follow_up.status == FollowUp.Status.OPEN and follow_up.owner is None
    assert (follow_up.deadline - timezone.now()).days in (1, 2)
    email = OutboxEmail.objects.get(kind="survey_follow_up")
    assert email.to_email == manager.email
    assert f"/staff/surveys/follow-ups/{follow_up.pk}/" in email.body_text
    # Changing the answer inside the window opens no second follow-up and sends no second email.
    services.submit_answers(invitation=invitation, values={"recommend": 3}, comment="Cold food")
    assert FollowUp.objects.count() == 1 and OutboxEmail.objects.filter(kind="survey_follow_up").count() == 1


def test_the_survey_owner_gets_the_follow_up_instead_of_every_manager(manager, customer):
    owner = UserFactory(role="manager", email="owner@example.com")
    survey = Survey.objects.create(name="CSAT", kind="csat", follow_up_owner=owner, follow_up_days=5)
    invitation = services.invite(survey=survey, member=customer)
    services.submit_answers(invitation=invitation, values={"satisfied": 2})
    assert FollowUp.objects.get().owner == owner
    assert list(OutboxEmail.objects.values_list("to_email", flat=True)) == ["owner@example.com"]


def test_happy_and_middling_answers_open_no_follow_up(invitation):
    services.submit_answers(invitation=invitation, values={"recommend": 7})
    assert not FollowUp.objects.exists()


def test_an_unconfirmed_click_opens_no_follow_up(invitation):
    services.record_click(invitation=invitation, question="recommend", value=0)
    assert not FollowUp.objects.exists()


def test_staff_record_what_was_done_and_close_it(client, manager, invitation):
    services.submit_answers(invitation=invitation, values={"recommend": 1})
    follow_up = FollowUp.objects.get()
    client.force_login(manager)
    url = reverse("staff:survey_follow_up", args=[follow_up.pk])
    response = client.post(url, {"note": "", "status": "open"})
    assert response.status_code == 400 and "Write what was done" in response.content.decode()
    client.post(url, {"note": "Called, offered a coffee", "status": "done", "owner": manager.pk})
    follow_up.refresh_from_db()
    assert follow_up.status == "done" and follow_up.closed_at and follow_up.owner == manager
    assert follow_up.notes.get().text == "Called, offered a coffee"
    assert StaffAction.objects.filter(action="surveys.follow_up.recorded", actor=manager).exists()


def test_a_promoter_consents_to_a_testimonial_with_the_wording_and_time(client, invitation):
    from surveys.links import make_token

    url = reverse("portal:survey_answer", args=[make_token(invitation, "recommend", 10)])
    page = client.get(url).content.decode()
    assert "You may show my comment" in page
    client.post(url, {"recommend": "10", "comment": "Best buns in town", "testimonial_consent": "on"})
    testimonial = survey_models.Testimonial.objects.get()
    assert testimonial.text == "Best buns in town" and testimonial.status == "pending"
    assert "You may show my comment" in testimonial.consent_wording
    assert testimonial.consented_at is not None and testimonial.language == "en"
    thanks = client.get(url + "?saved=1").content.decode()
    assert "Invite a friend" in thanks and reverse("portal:referrals") in thanks


def test_a_detractor_is_not_asked_to_invite_friends(client, invitation):
    from surveys.links import make_token

    url = reverse("portal:survey_answer", args=[make_token(invitation, "recommend", 3)])
    client.post(url, {"recommend": "3", "comment": "Slow"})
    assert "Invite a friend" not in client.get(url + "?saved=1").content.decode()


def test_no_testimonial_from_a_detractor_or_without_consent(invitation):
    services.submit_answers(invitation=invitation, values={"recommend": 2}, comment="Meh",
                            testimonial_consent=True)
    assert not survey_models.Testimonial.objects.exists()
    other = services.invite(survey=invitation.survey, member=MemberFactory())
    services.submit_answers(invitation=other, values={"recommend": 10}, comment="Great")
    assert not survey_models.Testimonial.objects.exists()


@pytest.mark.parametrize("score", [0, 10])
def test_points_for_answering_are_paid_once_whatever_the_score(shop, customer, score):
    survey = Survey.objects.create(name="Paid", kind="nps", points=25, points_program=shop)
    invitation = services.invite(survey=survey, member=customer)
    services.submit_answers(invitation=invitation, values={"recommend": score})
    services.submit_answers(invitation=invitation, values={"recommend": 10 - score})
    membership = Membership.objects.get(member=customer, program=shop)
    assert membership.balance == 25
    entry = LedgerEntry.objects.get(membership=membership)
    assert entry.cause_key == f"survey-invitation:{invitation.pk}"
    assert list(ledger_breaches()) == []


def test_the_member_sees_and_answers_their_open_surveys(client, customer, invitation,
                                                        django_assert_max_num_queries):
    client.force_login(customer.user)
    with django_assert_max_num_queries(10):
        page = client.get(reverse("portal:surveys")).content.decode()
    url = reverse("portal:survey_member_answer", args=[invitation.pk])
    assert url in page
    with django_assert_max_num_queries(12):
        assert client.get(url).status_code == 200
    response = client.post(url, {"recommend": "9"})
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.confirmed_at is not None
    assert invitation.answers.get().source == "portal"
    assert url not in client.get(reverse("portal:surveys")).content.decode()


def test_another_members_invitation_is_not_found(client, invitation):
    stranger = MemberFactory()
    client.force_login(stranger.user)
    response = client.get(reverse("portal:survey_member_answer", args=[invitation.pk]))
    assert response.status_code == 404


def test_a_receipt_link_opens_the_survey_without_recording_anything(client, invitation):
    from surveys.links import make_token

    url = reverse("portal:survey_answer", args=[make_token(invitation)])
    assert "A quick question" in client.get(url).content.decode()
    assert not invitation.answers.exists()
    client.post(url, {"recommend": "8"})
    assert invitation.answers.get().source == "receipt"


def test_a_member_closing_their_account_takes_their_words_with_them(customer, invitation):
    from programs.services import close_member
    from programs.signals import collect_member_data

    services.submit_answers(invitation=invitation, values={"recommend": 10}, comment="Lovely",
                            testimonial_consent=True)
    pending = services.invite(survey=Survey.objects.create(name="Later", kind="csat",
                                                           min_days_between=0),
                              member=customer, send_after=timezone.now())
    sections = dict(collect_member_data.send(sender=None, member=customer))
    download = next(extra for extra in sections.values() if "survey_answers" in extra)
    assert download["survey_answers"][0]["comment"] == "Lovely"
    assert download["testimonials"][0]["consent_wording"].startswith("You may show my comment")

    close_member(member=customer)
    assert not survey_models.Comment.objects.exists()
    assert not survey_models.Testimonial.objects.exists()
    assert invitation.answers.get().value == 10, "the score still counts"
    pending.refresh_from_db()
    assert pending.send_after is None and not pending.is_open()


def test_answers_recorded_without_notifying_open_a_follow_up_silently(manager, invitation):
    services.submit_answers(invitation=invitation, values={"recommend": 0}, notify_staff=False)
    assert FollowUp.objects.filter(invitation=invitation).exists()
    assert not OutboxEmail.objects.exists()
