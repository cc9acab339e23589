"""The one place that knows about currencies.

Amounts are `Decimal` in the shop's currency; each currency has its own minor unit (JPY none,
SEK, PLN and EUR two), taken from CLDR through Babel. The rounding rule, written down in
docs/money.md: an amount is rounded half up to the currency's minor unit, once, where it enters
Patron; nothing is rounded twice and no float ever holds an amount.
"""

from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal, InvalidOperation

from babel.numbers import format_currency, get_currency_precision
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import translation
from django.utils.translation import gettext as _

from .business import shop_currency

# The largest amount one purchase may carry; guards against a till that sends cents as units.
MAX_AMOUNT = Decimal("1000000")


def minor_unit(currency=None):
    """Digits after the decimal point for the currency: JPY 0, SEK 2."""
    return get_currency_precision(currency or shop_currency())


def round_money(amount, currency=None):
    """Round half up to the currency's minor unit."""
    exponent = Decimal(1).scaleb(-minor_unit(currency))
    return Decimal(amount).quantize(exponent, rounding=ROUND_HALF_UP)


def floor_money(amount, currency=None):
    """Round down to the currency's minor unit: for values the shop gives away (points paid)."""
    exponent = Decimal(1).scaleb(-minor_unit(currency))
    return Decimal(amount).quantize(exponent, rounding=ROUND_FLOOR)


def parse_amount(text, currency=None, allow_zero=False):
    """Read an amount as a till or a person types it ("12.50"); refuse what is not exact.

    Raises ValidationError for text that is not a number, is negative (or zero, unless
    `allow_zero`: a free item on a receipt), is too large, or has more decimals than the
    currency has (12.5 JPY).
    """
    currency = currency or shop_currency()
    try:
        amount = Decimal(str(text).strip())
    except InvalidOperation:
        raise ValidationError(_("Enter an amount such as 12.50."), code="invalid") from None
    if not amount.is_finite():
        raise ValidationError(_("Enter an amount such as 12.50."), code="invalid")
    if amount < 0 or (amount == 0 and not allow_zero):
        raise ValidationError(_("The amount must be more than zero."), code="not_positive")
    if amount > MAX_AMOUNT:
        raise ValidationError(_("The amount is too large."), code="too_large")
    digits = minor_unit(currency)
    if amount != round_money(amount, currency):
        raise ValidationError(
            _("%(currency)s amounts have at most %(digits)s decimal places.")
            % {"currency": currency, "digits": digits},
            code="too_precise",
        )
    return round_money(amount, currency)


def babel_locale(language=None):
    return (language or translation.get_language() or settings.LANGUAGE_CODE).replace("-", "_")


def format_money(amount, currency=None, language=None):
    """An amount as a person in `language` reads it: "1 234,50 kr", "￥1,235", "€12.50"."""
    currency = currency or shop_currency()
    return format_currency(
        round_money(amount, currency), currency, locale=babel_locale(language),
        currency_digits=True,
    )
