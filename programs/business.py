"""The business's own details: its name, logo, currency, time zone and languages.

They start as settings (SHOP_NAME, SHOP_CURRENCY, SHOP_TIME_ZONE, LANGUAGES) and may be chosen
in the first-run setup, which keeps them on the one `BusinessProfile` row; a field left empty
there falls back to its setting, read at the moment it is asked for. Pages, emails and the money
code read them here. The row is read at most once per MEMO_SECONDS per process, because the
currency is asked for on every amount shown; another process sees a change within that time.
"""

import time
import zoneinfo
from dataclasses import dataclass

from babel.numbers import list_currencies
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from loyalty_site.services import log_staff_action

from .models import BusinessProfile, Purchase, Subscription

MEMO_SECONDS = 30
LOGO_MAX_BYTES = 200 * 1024
LOGO_TYPES = {"image/png", "image/jpeg", "image/webp", "image/svg+xml"}
FIELDS = ("name", "currency", "time_zone", "languages", "logo_type", "updated_at", "set_up_at")

_memo = {"row": {}, "until": 0.0}


@dataclass(frozen=True)
class Profile:
    name: str
    currency: str
    time_zone: str
    languages: tuple
    logo_version: str  # empty when there is no logo; changes with every new logo
    is_set_up: bool


def _known_languages():
    return [code for code, _name in settings.LANGUAGES]


def _saved():
    if _memo["until"] <= time.monotonic():
        row = BusinessProfile.objects.filter(pk=1).values(*FIELDS).first()
        _memo.update(row=row or {}, until=time.monotonic() + MEMO_SECONDS)
    return _memo["row"]


def business_profile():
    """The business's details as saved in the setup, with the settings where nothing is."""
    row = _saved()
    languages = tuple(code for code in _known_languages() if code in (row.get("languages") or []))
    return Profile(
        name=row.get("name") or settings.SHOP_NAME,
        currency=row.get("currency") or settings.SHOP_CURRENCY,
        time_zone=row.get("time_zone") or settings.TIME_ZONE,
        languages=languages or tuple(_known_languages()),
        logo_version=str(int(row["updated_at"].timestamp())) if row.get("logo_type") else "",
        is_set_up=bool(row.get("set_up_at")),
    )


def shop_name():
    return business_profile().name


def shop_currency():
    return business_profile().currency


def shop_time_zone():
    return business_profile().time_zone


def shop_languages():
    """The languages the shop speaks to its customers, as codes in LANGUAGES' order."""
    return business_profile().languages


def forget_business_profile():
    """Read the row again at the next question (this process; others within MEMO_SECONDS)."""
    _memo["until"] = 0.0


@transaction.atomic
def save_business_profile(*, actor, name, currency, time_zone, languages, logo=None,
                          logo_type="", now=None):
    """Keep the business's details; harmless when nothing changed. Marks the shop as set up.

    `logo` is the image's bytes (None keeps the current one). The currency cannot change once
    money has been recorded in it. Raises ValidationError with a message per field.
    """
    errors = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = _("Enter the business's name.")
    currency = (currency or "").strip().upper()
    if currency not in list_currencies():
        errors["currency"] = _("Enter a three-letter currency code such as EUR or SEK.")
    if time_zone not in zoneinfo.available_timezones():
        errors["time_zone"] = _("Choose a time zone such as Europe/Warsaw.")
    known = _known_languages()
    if not languages or any(code not in known for code in languages):
        errors["languages"] = _("Choose at least one of the languages offered.")
    if logo is not None and (len(logo) > LOGO_MAX_BYTES or logo_type not in LOGO_TYPES):
        errors["logo"] = _("The logo must be a PNG, JPEG, WebP or SVG image of at most 200 kB.")
    # The row is made (or found) first and then locked, so that two owners saving at once
    # queue up rather than both inserting it; an error rolls the new row back.
    BusinessProfile.objects.get_or_create(pk=1)
    row = BusinessProfile.objects.select_for_update().get(pk=1)
    current = row.currency or settings.SHOP_CURRENCY
    if "currency" not in errors and currency != current and (
            Purchase.objects.exists() or Subscription.objects.exists()):
        errors["currency"] = _("The currency cannot change: amounts are already recorded in "
                               "%(currency)s.") % {"currency": current}
    if errors:
        raise ValidationError(errors)
    now = now or timezone.now()
    row.name, row.currency, row.time_zone = name, currency, time_zone
    row.languages = [code for code in known if code in languages]
    if logo is not None:
        row.logo, row.logo_type = logo, logo_type
    row.set_up_at = row.set_up_at or now
    row.updated_at = now
    row.save()
    forget_business_profile()
    transaction.on_commit(forget_business_profile)
    log_staff_action(actor=actor, action="programs.business_profile.saved",
                     data={"name": name, "currency": currency, "time_zone": time_zone,
                           "languages": row.languages, "logo": logo is not None})
    return row


def business_logo():
    """(bytes, content type) of the logo, or None."""
    row = BusinessProfile.objects.filter(pk=1).exclude(logo_type="").only("logo", "logo_type").first()
    return (bytes(row.logo), row.logo_type) if row else None
