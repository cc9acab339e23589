"""Sending: after a purchase with a delay, by hand, never more often than the survey allows,
never against the member's preferences, reminders at most once, with one-click unsubscribe."""

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from loyalty_site.models import OutboxEmail
from programs.services import record_purchase
from surveys import services, tasks
from surveys.models import Invitation, Survey

from ..factories import MemberFactory

pytestmark = pytest.mark.django_db


def buy(customer, store, receipt="R1"):
    purchase, _created = record_purchase(store=store, member=customer, external_id=receipt,
                                         amount="120.00")
    return purchase


def test_a_purchase_invites_and_the_email_waits_for_the_delay(shop, store, customer, nps_survey):
    purchase = buy(customer, store)
    invitation = Invitation.objects.get(purchase=purchase)
    assert invitation.store == store
    assert invitation.send_after > timezone.now() + timedelta(hours=23)
    assert tasks.send_due_invitations() == {"sent": 0}
    assert not OutboxEmail.objects.exists()

    Invitation.objects.filter(pk=invitation.pk).update(send_after=timezone.now())
    assert tasks.send_due_invitations() == {"sent": 1}
    assert tasks.send_due_invitations() == {"sent": 0}, "sent once, however often the task runs"
    email = OutboxEmail.objects.get()
    assert (email.to_email, email.category) == (customer.user.email, "surveys")
    # One signed link per answer, 0 to 10, in both parts.
    links = re.findall(r"https?://\S+/s/[^/\s]+/", email.body_text)
    assert len(links) == 11
    assert all(link in email.body_html for link in links)
    assert email.headers["List-Unsubscribe"].startswith("<http")
    assert email.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_the_same_purchase_reported_twice_invites_once(shop, store, customer, nps_survey):
    buy(customer, store)
    buy(customer, store)
    assert Invitation.objects.count() == 1


def test_no_member_is_surveyed_more_often_than_the_survey_allows(shop, store, customer, nps_survey):
    buy(customer, store, "R1")
    buy(customer, store, "R2")
    assert Invitation.objects.filter(member=customer).count() == 1
    Invitation.objects.update(created_at=timezone.now() - timedelta(days=31))
    buy(customer, store, "R3")
    assert Invitation.objects.filter(member=customer).count() == 2


def test_inactive_or_by_hand_surveys_are_not_sent_after_purchases(shop, store, customer, nps_survey):
    Survey.objects.filter(pk=nps_survey.pk).update(is_active=False)
    Survey.objects.create(name="By hand", kind=Survey.Kind.CSAT)
    buy(customer, store)
    assert Invitation.objects.count() == 0


def test_a_member_who_does_not_want_survey_emails_gets_none_but_can_answer(customer, invitation):
    customer.user.emails_surveys = False
    customer.user.save()
    assert tasks.send_due_invitations() == {"sent": 0}
    invitation.refresh_from_db()
    assert invitation.skipped == Invitation.Skipped.OPTED_OUT
    assert OutboxEmail.objects.count() == 0
    from surveys.selectors import open_invitations

    assert list(open_invitations(customer)) == [invitation]


def test_reminders_go_once_and_only_to_those_who_have_not_answered(settings, customer, invitation):
    settings.SURVEY_REMINDER_DAYS = 3
    tasks.send_due_invitations()
    Invitation.objects.filter(pk=invitation.pk).update(sent_at=timezone.now() - timedelta(days=4))
    assert tasks.send_reminders() == {"sent": 1}
    assert tasks.send_reminders() == {"sent": 0}
    assert "reminder" in OutboxEmail.objects.latest("pk").subject.lower()

    answered = services.invite(survey=Survey.objects.create(name="CSAT", kind="csat"),
                               member=MemberFactory(), send_after=timezone.now())
    tasks.send_due_invitations()
    services.submit_answers(invitation=answered, values={"satisfied": 5})
    Invitation.objects.filter(pk=answered.pk).update(sent_at=timezone.now() - timedelta(days=4))
    assert tasks.send_reminders() == {"sent": 0}


def test_sending_by_hand_skips_members_surveyed_recently(manager, nps_survey, customer,
                                                        django_capture_on_commit_callbacks):
    other = MemberFactory()
    services.invite(survey=nps_survey, member=customer)
    with django_capture_on_commit_callbacks(execute=True):
        invited, throttled = services.invite_by_hand(survey=nps_survey, members=[customer, other],
                                                     actor=manager)
    assert (invited, throttled) == (1, 1)
    assert list(OutboxEmail.objects.values_list("to_email", flat=True)) == [other.user.email]


def test_the_unsubscribe_link_in_a_survey_email_stops_survey_emails(client, customer, invitation):
    tasks.send_due_invitations()
    url = OutboxEmail.objects.get().headers["List-Unsubscribe"].strip("<>")
    path = re.sub(r"^https?://[^/]+", "", url)
    response = client.post(path, {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    customer.user.refresh_from_db()
    assert customer.user.emails_surveys is False


def test_a_manager_sends_a_survey_to_a_segment(client, manager, nps_survey, customer,
                                               django_capture_on_commit_callbacks):
    from programs.models import Segment

    others = [MemberFactory(), MemberFactory()]
    services.invite(survey=nps_survey, member=others[0])  # surveyed recently: skipped
    everyone = Segment.objects.create(name="Everyone")
    client.force_login(manager)
    url = reverse("staff:survey_send", args=[nps_survey.pk])
    response = client.post(url, {"segment": everyone.pk, "members": customer.number})
    assert "Choose a segment or list members, not both." in response.content.decode()
    assert Invitation.objects.count() == 1
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"segment": everyone.pk})
    assert response.status_code == 302
    assert set(Invitation.objects.filter(sent_at__isnull=False).values_list("member", flat=True)) \
        == {customer.pk, others[1].pk}
    assert OutboxEmail.objects.count() == 2


def test_sending_by_hand_refuses_unknown_members_and_changes_nothing(client, manager, nps_survey):
    client.force_login(manager)
    response = client.post(reverse("staff:survey_send", args=[nps_survey.pk]),
                           {"members": "nobody@example.com"})
    assert response.status_code == 400
    assert "No member with: nobody@example.com" in response.content.decode()
    assert not Invitation.objects.exists()


def test_the_till_offers_the_receipt_link_when_a_purchase_invites(client, cashier, shop, store,
                                                                  customer, nps_survey):
    client.force_login(cashier)
    client.post(reverse("staff:till_store"), {"store": store.pk})
    page = client.post(reverse("staff:till_purchase", args=[customer.number]), {
        "purchase-amount": "120.00", "purchase-external_id": "T1"}, follow=True).content.decode()
    purchase = Invitation.objects.get().purchase
    assert f'href="{reverse("staff:survey_receipt", args=[purchase.pk])}"' in page
    assert "Print the survey link for the receipt" in page
