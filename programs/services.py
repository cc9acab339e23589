"""Writes of the programs core. Each function is one transaction and names the shop's words."""

from django.db import IntegrityError, transaction

from . import signals

# Purchases, refunds, rewards, points, API keys and customers enrolled by email live in their
# own modules; they are re-exported here so that views, the API, commands and tasks have one
# place to call.
from .api_keys import create_api_key, note_api_key_used, revoke_api_key
from .business import save_business_profile
from .customers import close_member, find_or_enrol_customer
from .imports import ImportRefused, import_customers
from .member_numbers import is_valid_member_number, luhn_check_digit, new_member_number
from .models import Member
from .points import (
    PointsError,
    adjust_points,
    cancel_redemption,
    change_earning_rule,
    expire_points,
    grant_points,
    grant_reward,
    normalise_code,
    pay_with_points,
    redeem_reward,
    release_pending_points,
    use_redemption,
)
from .program_templates import add_stores, create_program_from_template
from .purchases import PurchaseConflict, record_purchase, refund_purchase
from .reminders import send_expiry_reminders
from .tiers import set_member_tier


@transaction.atomic
def enrol_member(*, user, store=None, joined_at=None, source="portal", referral_code="", request=None):
    """Give a person a member card; harmless when they already have one. Returns the member.

    A new card is announced with `signals.member_enrolled`, carrying where the person joined
    and the referral code they gave, if any.
    """
    existing = Member.objects.filter(user=user).first()
    if existing is not None:
        return existing
    extra = {"joined_at": joined_at} if joined_at else {}
    for _attempt in range(5):
        try:
            with transaction.atomic():
                member = Member.objects.create(
                    user=user, number=new_member_number(), joined_store=store, **extra
                )
            break
        except IntegrityError:
            # Either the person was enrolled by a parallel request, or the number was taken.
            existing = Member.objects.filter(user=user).first()
            if existing is not None:
                return existing
    else:
        raise RuntimeError("Could not find a free member number in five tries.")
    signals.member_enrolled.send(
        sender=Member, member=member, store=store, source=source,
        referral_code=(referral_code or "").strip(), request=request,
    )
    return member


__all__ = [
    "ImportRefused",
    "PointsError",
    "PurchaseConflict",
    "add_stores",
    "adjust_points",
    "cancel_redemption",
    "change_earning_rule",
    "close_member",
    "create_api_key",
    "create_program_from_template",
    "enrol_member",
    "expire_points",
    "find_or_enrol_customer",
    "grant_points",
    "grant_reward",
    "import_customers",
    "is_valid_member_number",
    "luhn_check_digit",
    "new_member_number",
    "normalise_code",
    "note_api_key_used",
    "pay_with_points",
    "record_purchase",
    "redeem_reward",
    "refund_purchase",
    "release_pending_points",
    "revoke_api_key",
    "save_business_profile",
    "send_expiry_reminders",
    "set_member_tier",
    "use_redemption",
]
