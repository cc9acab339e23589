"""Writes of the programs core. Each function is one transaction and names the shop's words."""

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from .models import Member, Purchase
from .money import parse_amount


def luhn_check_digit(digits):
    """The Luhn check digit for a string of digits: it catches any single mistyped digit."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


def is_valid_member_number(number):
    return len(number) == 10 and number.isdigit() and luhn_check_digit(number[:-1]) == number[-1]


def new_member_number():
    # Random rather than sequential, so that a number says nothing about how many members exist.
    body = str(secrets.randbelow(9 * 10**8) + 10**8)
    return body + luhn_check_digit(body)


def enrol_member(*, user, store=None, joined_at=None):
    """Give a person a member card; harmless when they already have one. Returns the member."""
    existing = Member.objects.filter(user=user).first()
    if existing is not None:
        return existing
    extra = {"joined_at": joined_at} if joined_at else {}
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return Member.objects.create(
                    user=user, number=new_member_number(), joined_store=store, **extra
                )
        except IntegrityError:
            # Either the person was enrolled by a parallel request, or the number was taken.
            existing = Member.objects.filter(user=user).first()
            if existing is not None:
                return existing
    raise RuntimeError("Could not find a free member number in five tries.")


class PurchaseConflict(ValidationError):
    """The receipt number was used before for a different purchase."""


def record_purchase(*, store, member, external_id, amount, currency=None, occurred_at=None):
    """Record a purchase once per store and receipt number.

    Returns (purchase, created). Reporting the same purchase again returns the first one and
    changes nothing; the same receipt number with another amount or member raises
    PurchaseConflict. Raises ValidationError for an amount the currency cannot hold or a
    currency that is not the shop's.
    """
    currency = (currency or settings.SHOP_CURRENCY).upper()
    if currency != settings.SHOP_CURRENCY:
        raise ValidationError(
            {"currency": _("This shop takes %(currency)s only.") % {"currency": settings.SHOP_CURRENCY}}
        )
    try:
        amount = parse_amount(amount, currency)
    except ValidationError as error:
        raise ValidationError({"amount": error.messages}) from error
    fields = {"member": member, "amount": amount, "currency": currency}
    if occurred_at is not None:
        fields["occurred_at"] = occurred_at
    try:
        with transaction.atomic():
            return Purchase.objects.create(store=store, external_id=external_id, **fields), True
    except IntegrityError:
        first = Purchase.objects.filter(store=store, external_id=external_id).first()
        if first is None:
            raise
    if first.member_id != member.pk or first.amount != amount:
        raise PurchaseConflict(
            {"external_id": _("Receipt %(id)s was already recorded with another amount or member.")
             % {"id": external_id}}
        )
    return first, False
