"""The fraud rules: each returns a reason code (models.Reason) or "" (docs/referrals.md).

Pure reads; services.attribute records what they find.
"""

from datetime import timedelta

from disposable_email_domains import blocklist as DISPOSABLE_DOMAINS
from django.utils.translation import gettext as _

from programs.models import Purchase

from .models import Reason, Referral

# The share link's cookie: the referral code, remembered for the program's cookie window.
COOKIE_NAME = "patron_referral"

# Providers that deliver "a.b+shop@gmail.com" to "ab@gmail.com": the same person, so the same
# referrer. Dots are ignored by Gmail only; +tags by these providers.
SAME_MAILBOX_DOMAINS = {"googlemail.com": "gmail.com"}
DOTS_IGNORED = {"gmail.com"}
PLUS_TAGS = {"gmail.com", "outlook.com", "hotmail.com", "live.com", "icloud.com", "me.com",
             "protonmail.com", "proton.me", "pm.me", "fastmail.com", "yahoo.com"}
PHONE_DIGITS_COMPARED = 9  # the subscriber part: "+46 70 123 45 67" is "070-123 45 67"


def normalised_email(email):
    """The mailbox an address delivers to: lower case, googlemail as gmail, without the dots
    and +tags of providers that ignore them."""
    local, _at, domain = str(email or "").strip().lower().rpartition("@")
    domain = SAME_MAILBOX_DOMAINS.get(domain, domain)
    if domain in PLUS_TAGS:
        local = local.split("+", 1)[0]
    if domain in DOTS_IGNORED:
        local = local.replace(".", "")
    return f"{local}@{domain}"


def phone_key(phone):
    digits = "".join(c for c in str(phone or "") if c.isdigit())
    return digits[-PHONE_DIGITS_COMPARED:] if len(digits) >= 6 else ""


def is_disposable(email):
    """True for an address at a throwaway-mailbox domain (or a subdomain of one)."""
    domain = str(email or "").strip().lower().rpartition("@")[2]
    parts = domain.split(".")
    return any(".".join(parts[i:]) in DISPOSABLE_DOMAINS for i in range(len(parts) - 1))


def refusal_reason(*, referrer, friend, purchase=None):
    """Why `friend` cannot be referred by `referrer`, or "". `purchase` is the purchase the
    cashier typed the code at, which must be the friend's first."""
    if referrer.pk == friend.pk:
        return Reason.OWN_CODE
    if normalised_email(referrer.user.email) == normalised_email(friend.user.email):
        return Reason.SAME_EMAIL
    phone = phone_key(friend.user.phone)
    if phone and phone == phone_key(referrer.user.phone):
        return Reason.SAME_PHONE
    earlier = Purchase.objects.filter(member=friend)
    if purchase is not None:
        earlier = earlier.exclude(pk=purchase.pk)
    if earlier.exists():
        return Reason.NOT_FIRST_PURCHASE if purchase is not None else Reason.KNOWN_CUSTOMER
    if is_disposable(friend.user.email):
        return Reason.DISPOSABLE_EMAIL
    return ""


def flag_reason(referral, settings, *, now):
    """Why a new referral should wait for staff review rather than count at once, or ""."""
    day_ago = now - timedelta(days=1)
    recent = Referral.objects.filter(created_at__gte=day_ago).exclude(pk=referral.pk)
    if recent.filter(referrer=referral.referrer_id, program=referral.program_id
                     ).count() >= settings.burst_limit:
        return Reason.REFERRER_BURST
    if referral.device and recent.filter(device=referral.device, program=referral.program_id
                                         ).count() >= settings.device_limit:
        return Reason.SHARED_DEVICE
    return ""


def message_for(reason):
    """What the person who gave a refused code is told. The sign-up or purchase went on."""
    if reason == Reason.RATE_LIMITED:
        return _("Too many referral codes were tried; wait a few minutes before trying another. "
                 "Everything else went through.")
    return _("Referral code not accepted (%(reason)s). Everything else went through.") % {
        "reason": Reason(reason).label}


def short_name(member):
    """First name and initial, as a friend or a leaderboard may see them: "Anna B."."""
    words = (member.user.name or "").split()
    if not words:
        return _("A member")
    if len(words) == 1:
        return words[0]
    return f"{words[0]} {words[-1][0]}."
