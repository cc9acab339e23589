"""Amounts round to each currency's own minor unit, half up, and refuse what is not exact."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from programs.money import format_money, minor_unit, parse_amount, round_money


@pytest.mark.parametrize(("currency", "digits"), [("JPY", 0), ("SEK", 2), ("PLN", 2), ("EUR", 2)])
def test_minor_units(currency, digits):
    assert minor_unit(currency) == digits


@pytest.mark.parametrize(("amount", "currency", "rounded"), [
    ("1234.5", "JPY", Decimal("1235")),
    ("1234.49", "JPY", Decimal("1234")),
    ("10.005", "SEK", Decimal("10.01")),
    ("10.004", "PLN", Decimal("10.00")),
    ("0.125", "EUR", Decimal("0.13")),
])
def test_rounding_is_half_up_to_the_minor_unit(amount, currency, rounded):
    result = round_money(Decimal(amount), currency)
    assert result == rounded and result.as_tuple().exponent == -minor_unit(currency)


@pytest.mark.parametrize(("text", "currency", "code"), [
    ("12.5", "JPY", "too_precise"),
    ("12.345", "SEK", "too_precise"),
    ("abc", "PLN", "invalid"),
    ("NaN", "PLN", "invalid"),
    ("0", "SEK", "not_positive"),
    ("-5", "SEK", "not_positive"),
    ("1000000.01", "SEK", "too_large"),
])
def test_bad_amounts_are_refused_with_a_reason(text, currency, code):
    with pytest.raises(ValidationError) as error:
        parse_amount(text, currency)
    assert error.value.code == code


def test_exact_amounts_are_read():
    assert parse_amount(" 12.50 ", "SEK") == Decimal("12.50")
    assert parse_amount("1200", "JPY") == Decimal("1200")


@pytest.mark.parametrize(("amount", "currency", "language", "shown"), [
    ("1234.5", "JPY", "ja", "￥1,235"),
    ("1234.5", "SEK", "sv", "1\xa0234,50\xa0kr"),
    ("12345.6", "PLN", "pl", "12\xa0345,60\xa0zł"),
    ("1234.5", "EUR", "en", "€1,234.50"),
])
def test_amounts_are_shown_in_the_visitors_locale(amount, currency, language, shown):
    assert format_money(Decimal(amount), currency, language) == shown
