"""Answering from the email's one-click links: signatures, expiry, and the scanner rules
(HEAD records nothing, a burst over several options is discarded, a click counts once confirmed)."""

import re
import time
from datetime import timedelta

import pytest
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from surveys import links, services
from surveys.models import Answer, Invitation

pytestmark = pytest.mark.django_db


def link(invitation, value, question="recommend"):
    return reverse("portal:survey_answer", args=[links.make_token(invitation, question, value)])


def answers(invitation):
    return list(Answer.objects.filter(invitation=invitation).values_list("question", "value", "status"))


def test_a_click_records_an_unconfirmed_answer_and_offers_a_comment(client, invitation):
    response = client.get(link(invitation, 9))
    assert response.status_code == 200
    page = response.content.decode()
    assert "We have your answer" in page and 'name="comment"' in page
    assert re.search(r'value="9"[^>]*checked', page), "the clicked answer is chosen in the form"
    assert answers(invitation) == [("recommend", 9, "unconfirmed")]
    invitation.refresh_from_db()
    assert invitation.confirmed_at is None


def test_head_records_nothing(client, invitation):
    assert client.head(link(invitation, 9)).status_code == 200
    assert answers(invitation) == []


def test_a_tampered_link_records_nothing_and_says_why(client, invitation):
    token = links.make_token(invitation, "recommend", 9)
    response = client.get(reverse("portal:survey_answer", args=[token[:-2] + "xx"]))
    assert response.status_code == 400
    assert "not valid" in response.content.decode() and "Nothing was recorded" in response.content.decode()
    assert answers(invitation) == []


def test_a_link_with_another_value_forged_in_is_refused(client, invitation):
    token = links.make_token(invitation, "recommend", 9)
    _payload, rest = token.split(":", 1)
    forged = signing.dumps({"i": invitation.pk, "q": "recommend", "v": 0}, salt="other").split(":", 1)[0]
    response = client.get(reverse("portal:survey_answer", args=[f"{forged}:{rest}"]))
    assert response.status_code == 400
    assert answers(invitation) == []


def test_an_expired_link_records_nothing_and_says_why(client, invitation, monkeypatch, settings):
    settings.SURVEY_LINK_MAX_DAYS = 30
    long_ago = time.time() - 31 * 24 * 3600
    monkeypatch.setattr(signing.time, "time", lambda: long_ago)
    token = links.make_token(invitation, "recommend", 9)
    monkeypatch.undo()
    response = client.get(reverse("portal:survey_answer", args=[token]))
    assert response.status_code == 410
    assert "expired" in response.content.decode() and "Nothing was recorded" in response.content.decode()
    assert answers(invitation) == []


def test_a_burst_over_several_options_is_discarded(client, invitation):
    for value in (0, 1, 2, 3):
        client.get(link(invitation, value))
    assert answers(invitation) == [("recommend", 0, "discarded")]
    page = client.get(link(invitation, 4)).content.decode()  # still within the burst
    assert "Which answer did you mean?" in page
    assert answers(invitation)[0][2] == "discarded"


def test_a_click_after_a_quiet_spell_starts_afresh(invitation):
    now = timezone.now()
    services.record_click(invitation=invitation, question="recommend", value=0, now=now)
    services.record_click(invitation=invitation, question="recommend", value=10,
                          now=now + timedelta(seconds=1))
    later = now + timedelta(minutes=5)
    answer = services.record_click(invitation=invitation, question="recommend", value=8, now=later)
    assert (answer.value, answer.status) == (8, Answer.Status.UNCONFIRMED)


def test_the_same_option_clicked_twice_is_one_unconfirmed_answer(client, invitation):
    client.get(link(invitation, 9))
    client.get(link(invitation, 9))
    assert answers(invitation) == [("recommend", 9, "unconfirmed")]


def test_the_page_confirms_after_it_stayed_open(client, invitation, settings):
    settings.SURVEY_DWELL_SECONDS = 0
    url = link(invitation, 9)
    client.get(url)
    response = client.post(url, {"dwell": "1"})
    assert response.json() == {"confirmed": True}
    assert answers(invitation) == [("recommend", 9, "confirmed")]
    assert Invitation.objects.get(pk=invitation.pk).confirmed_at is not None


def test_a_script_posting_at_once_confirms_nothing(client, invitation, settings):
    settings.SURVEY_DWELL_SECONDS = 3
    url = link(invitation, 9)
    client.get(url)
    assert client.post(url, {"dwell": "1"}).json() == {"confirmed": False}
    assert answers(invitation) == [("recommend", 9, "unconfirmed")]


def test_a_discarded_answer_is_never_confirmed_by_staying(client, invitation, settings):
    settings.SURVEY_DWELL_SECONDS = 0
    client.get(link(invitation, 3))
    client.get(link(invitation, 9))
    assert client.post(link(invitation, 9), {"dwell": "1"}).json() == {"confirmed": False}
    assert answers(invitation)[0][2] == "discarded"


def test_pressing_send_confirms_with_the_comment(client, invitation):
    url = link(invitation, 9)
    client.get(url)
    response = client.post(url, {"recommend": "10", "comment": "Lovely coffee"})
    assert response.status_code == 302
    assert answers(invitation) == [("recommend", 10, "confirmed")]
    assert invitation.comment.text == "Lovely coffee"
    page = client.get(response["Location"]).content.decode()
    assert "Your answer is saved" in page


def test_one_answer_per_invitation_edited_inside_the_window(client, invitation):
    url = link(invitation, 3)
    client.post(url, {"recommend": "3", "comment": "Slow"})
    client.post(url, {"recommend": "7", "comment": "Slow, but friendly"})
    assert answers(invitation) == [("recommend", 7, "confirmed")]
    assert Answer.objects.filter(invitation=invitation).count() == 1
    # A later click on a confirmed answer changes nothing by itself.
    client.get(link(invitation, 0))
    assert answers(invitation) == [("recommend", 7, "confirmed")]


def test_no_edits_after_the_window(client, invitation):
    url = link(invitation, 8)
    client.post(url, {"recommend": "8"})
    Invitation.objects.filter(pk=invitation.pk).update(
        confirmed_at=timezone.now() - timedelta(hours=invitation.survey.edit_hours + 1))
    response = client.post(url, {"recommend": "0"})
    assert response.status_code == 400
    assert answers(invitation) == [("recommend", 8, "confirmed")]
    page = client.get(url).content.decode()
    assert "can no longer be changed" in page


def test_a_closed_invitation_takes_no_click(client, invitation):
    Invitation.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(days=1))
    response = client.get(link(invitation, 9))
    assert "This survey closed" in response.content.decode()
    assert answers(invitation) == []


def test_a_value_off_the_scale_is_refused(client, invitation):
    response = client.post(link(invitation, 9), {"recommend": "11"})
    assert response.status_code == 400
    assert answers(invitation) == []


def test_the_answer_page_does_a_bounded_number_of_queries(client, invitation,
                                                           django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        assert client.get(link(invitation, 9)).status_code == 200
