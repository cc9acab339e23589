"""Signed, expiring links to answer a survey: one per answer option, or one to open the page.

A link carries the invitation's id and, for a one-click option, the question and the value,
signed with Django's signing (salted, timestamped). A tampered link fails the signature; a link
older than SURVEY_LINK_MAX_DAYS has expired. Either way nothing is recorded.
"""

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse

from loyalty_site.services import absolute_url

SALT = "patron.surveys.answer"


def max_age():
    return timedelta(days=settings.SURVEY_LINK_MAX_DAYS)


def make_token(invitation, question=None, value=None):
    data = {"i": invitation.pk}
    if question is not None:
        data.update(q=question, v=value)
    return signing.dumps(data, salt=SALT, compress=True)


def read_token(token):
    """Return (invitation id, question or None, value or None).

    Raises signing.SignatureExpired for an old link and signing.BadSignature for a changed one.
    """
    data = signing.loads(token, salt=SALT, max_age=max_age())
    if not isinstance(data, dict) or not isinstance(data.get("i"), int):
        raise signing.BadSignature("Malformed survey link.")
    value = data.get("v")
    if "q" in data and not isinstance(value, int):
        raise signing.BadSignature("Malformed survey link.")
    return data["i"], data.get("q"), value


def answer_url(invitation, question=None, value=None):
    """The absolute link to answer (with one click, when a question and value are given)."""
    return absolute_url(reverse("portal:survey_answer",
                                args=[make_token(invitation, question, value)]))
