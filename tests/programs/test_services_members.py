"""Member cards and purchases as the till reports them."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError

from programs.models import Member, Purchase
from programs.services import (
    PurchaseConflict,
    enrol_member,
    is_valid_member_number,
    luhn_check_digit,
    record_purchase,
)

from ..factories import MemberFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_luhn_check_digit_matches_known_numbers():
    assert luhn_check_digit("7992739871") == "3"
    assert is_valid_member_number("1234567897")


def test_a_single_mistyped_digit_is_caught():
    number = enrol_member(user=UserFactory()).number
    assert is_valid_member_number(number)
    for position in range(10):
        digit = str((int(number[position]) + 1) % 10)
        assert not is_valid_member_number(number[:position] + digit + number[position + 1:])


def test_enrolling_twice_keeps_one_card():
    user = UserFactory()
    assert enrol_member(user=user) == enrol_member(user=user)
    assert Member.objects.filter(user=user).count() == 1


def test_the_same_purchase_reported_twice_is_recorded_once(settings):
    settings.SHOP_CURRENCY = "SEK"
    member, store = MemberFactory(), StoreFactory()
    first, created = record_purchase(store=store, member=member, external_id="R-1",
                                     amount="249.90", currency="sek")
    again, created_again = record_purchase(store=store, member=member, external_id="R-1",
                                           amount=Decimal("249.90"))
    assert (created, created_again) == (True, False) and first == again
    assert Purchase.objects.get().amount == Decimal("249.90")


def test_a_reused_receipt_number_with_another_amount_is_refused(settings):
    settings.SHOP_CURRENCY = "SEK"
    member, store = MemberFactory(), StoreFactory()
    record_purchase(store=store, member=member, external_id="R-1", amount="10.00")
    with pytest.raises(PurchaseConflict):
        record_purchase(store=store, member=member, external_id="R-1", amount="11.00")
    assert Purchase.objects.count() == 1


@pytest.mark.parametrize(("amount", "currency", "field"), [
    ("12.5", "JPY", "amount"), ("-1", "JPY", "amount"), ("100", "EUR", "currency"),
])
def test_bad_purchases_write_nothing(settings, amount, currency, field):
    settings.SHOP_CURRENCY = "JPY"
    with pytest.raises(ValidationError) as error:
        record_purchase(store=StoreFactory(), member=MemberFactory(), external_id="R-9",
                        amount=amount, currency=currency)
    assert field in error.value.message_dict
    assert not Purchase.objects.exists()
