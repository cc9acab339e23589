"""Checks that keep bots out of the embeddable sign-up (docs/onboarding.md), without any
third-party service: a hidden field people leave empty, a signed single-use time stamp that
must be at least MIN_SECONDS and at most MAX_SECONDS old, and a limit of sign-ups per IP address.
Email verification stays as allauth does it for every sign-up.
"""

import secrets
import time

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.utils.translation import gettext as _

from programs.ratelimit import RateLimit

SALT = "patron.embed-signup"
MIN_SECONDS = 2
MAX_SECONDS = 24 * 3600
HONEYPOT_FIELD = "website"


class SignupRefused(Exception):
    """A submission the checks turned away; the message is for the person in the frame."""


def signups_per_ip():
    return RateLimit("embed-signup", limit=settings.EMBED_SIGNUPS_PER_HOUR, window=3600)


def issue_token(now=None):
    """A signed time stamp with a one-off nonce, for the form's hidden field."""
    return signing.dumps({"t": now or time.time(), "n": secrets.token_urlsafe(12)}, salt=SALT)


def check_submission(data, *, ip, now=None):
    """Refuse a submission that looks automated. Raises SignupRefused with a message to show.

    Each token is used up by its first submission (kept in the shared cache for as long as it
    could be valid), so a form replayed by a script is refused however it is filled.
    """
    now = now or time.time()
    limit = signups_per_ip()
    if limit.is_exceeded(ip, now=now):
        raise SignupRefused(_("Too many sign-ups from your connection. Please try again in an hour."))
    limit.hit(ip, now=now)
    if data.get(HONEYPOT_FIELD):
        raise SignupRefused(_("We could not accept this form. Please reload the page and try again."))
    try:
        stamp = signing.loads(data.get("token", ""), salt=SALT)
        issued, nonce = float(stamp["t"]), str(stamp["n"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        raise SignupRefused(_("The form was changed or is broken. Please reload the page and try "
                              "again.")) from None
    if now - issued > MAX_SECONDS:
        raise SignupRefused(_("The form has expired. Please reload the page and try again."))
    if not cache.add(f"embed-signup-token:{nonce}", 1, timeout=MAX_SECONDS + 60):
        raise SignupRefused(_("This form was sent already. Please reload the page to sign up again."))
    if now - issued < MIN_SECONDS:
        raise SignupRefused(_("That was very quick. Please check the form and send it again."))
