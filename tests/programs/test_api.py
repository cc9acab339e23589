"""The integration API as a till or web shop uses it: keys, members, purchases, refunds, rewards,
redemptions, idempotency, rate limits, query counts and the OpenAPI schema.

The fixtures `shop` (a SEK spend program, 1 point per krona, 12 months expiry), `store`,
`customer` and `coffee` (a 100-point reward) come from tests/programs/conftest.py.
"""

import io
import json
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.utils import timezone
from rest_framework.test import APIClient

from programs import services
from programs.api.authentication import ApiKeyAuthentication, StoreClient
from programs.api_keys import hash_api_key
from programs.models import (
    ApiKey,
    IdempotentRequest,
    LedgerEntry,
    Member,
    Membership,
    PointLot,
    Purchase,
    PurchaseItem,
    Redemption,
    Refund,
    Reward,
)
from programs.ratelimit import CODE_LOOKUPS, RateLimit
from programs.selectors import ledger_breaches

from ..conftest import needs_postgres
from ..factories import MemberFactory, ProgramFactory, RewardFactory, StoreFactory
from ..parallel import run_in_parallel

pytestmark = pytest.mark.django_db

User = get_user_model()


# --- Helpers --------------------------------------------------------------------------------


def client_for(plaintext):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    return client


@pytest.fixture
def api_key(store):
    return services.create_api_key(store=store, name="till 1")


@pytest.fixture
def api(api_key):
    return client_for(api_key[1])


def post(client, path, body=None, **headers):
    return client.post(f"/api/v1/{path}", body or {}, format="json", headers=headers)


def purchase_body(who, **overrides):
    body = {"member": who.number, "external_id": "R-1", "amount": "249.90", "currency": "SEK"}
    body.update(overrides)
    return body


def snapshot():
    """Row counts of everything the API can write: an error must leave all of them alone."""
    models = [User, Member, Membership, Purchase, PurchaseItem, Refund, LedgerEntry, PointLot,
              Redemption, IdempotentRequest]
    return {model.__name__: model.objects.count() for model in models} | {
        "stock": list(Reward.objects.order_by("pk").values_list("stock", flat=True)),
        "balances": list(Membership.objects.order_by("pk").values_list("balance", flat=True)),
    }


@pytest.fixture
def unchanged():
    """Use as `with unchanged(): ...` around a request that must write nothing."""
    class _Unchanged:
        def __enter__(self):
            self.before = snapshot()

        def __exit__(self, *exc):
            assert snapshot() == self.before
            return False

    return _Unchanged


def balance(member, program):
    return Membership.objects.get(member=member, program=program).balance


# --- Keys and authentication ----------------------------------------------------------------


def test_a_new_key_is_long_random_and_stored_only_as_its_hash(store):
    api_key, plaintext = services.create_api_key(store=store, name="web shop")
    prefix_tag, prefix, secret = plaintext.split("_", 2)
    assert prefix_tag == "ptr" and prefix == api_key.prefix
    assert len(secret) >= 43  # 32 bytes of urlsafe base64: 256 bits
    assert api_key.key_hash == hash_api_key(plaintext) and plaintext not in api_key.key_hash
    assert services.create_api_key(store=store)[1] != plaintext


def test_the_command_prints_the_key_once_and_it_works(store, shop, customer):
    out = io.StringIO()
    call_command("create_api_key", "--store", store.code, "--name", "till 2", stdout=out)
    printed = out.getvalue()
    plaintext = next(word for word in printed.split() if word.startswith("ptr_"))
    assert "cannot be shown again" in printed
    api_key = ApiKey.objects.get()
    assert (api_key.store, api_key.name, api_key.key_hash) == (store, "till 2", hash_api_key(plaintext))
    assert client_for(plaintext).get(f"/api/v1/members/{customer.number}").status_code == 200


def test_the_command_refuses_an_unknown_store(store):
    with pytest.raises(CommandError, match=r"no store with the code 'nowhere'.*main"):
        call_command("create_api_key", "--store", "nowhere", stdout=io.StringIO())
    assert not ApiKey.objects.exists()


def test_a_missing_key_is_refused_with_401(shop, customer):
    response = APIClient().get(f"/api/v1/members/{customer.number}")
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert "detail" in response.json()


@pytest.mark.parametrize("header", ["Bearer ptr_nope_nope", "Bearer", "Bearer a b", "Basic abc"])
def test_a_wrong_or_malformed_key_is_refused_with_401(shop, customer, api_key, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)
    assert client.get(f"/api/v1/members/{customer.number}").status_code == 401


def test_a_revoked_key_is_refused_and_writes_nothing(shop, customer, api_key, unchanged):
    key, plaintext = api_key
    services.revoke_api_key(api_key=key)
    with unchanged():
        response = post(client_for(plaintext), "purchases", purchase_body(customer))
    assert response.status_code == 401
    assert response.json() == {"detail": "This API key was revoked."}


def test_a_key_of_an_inactive_store_is_refused(shop, customer, store, api):
    store.is_active = False
    store.save()
    assert api.get(f"/api/v1/members/{customer.number}").status_code == 401


def test_last_use_is_written_at_most_once_a_minute(shop, customer, api_key, api,
                                                   django_assert_num_queries):
    key, _plaintext = api_key
    assert api.get("/api/v1/rewards").status_code == 200
    first = ApiKey.objects.get().last_used_at
    assert first is not None
    # Within the minute: the key lookup and the rewards, and no UPDATE of the key.
    with django_assert_num_queries(2):
        api.get("/api/v1/rewards")
    assert ApiKey.objects.get().last_used_at == first
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=first - timedelta(minutes=2))
    api.get("/api/v1/rewards")
    assert ApiKey.objects.get().last_used_at > first


# --- Members --------------------------------------------------------------------------------


def test_enrolling_a_new_customer_by_email(store, api):
    response = post(api, "members", {"email": "Nora@Example.com", "name": "Nora North",
                                     "phone": "+46 70 123 45 67", "language": "sv",
                                     "referral_code": "FRIEND-123"})
    assert response.status_code == 201
    member = Member.objects.select_related("user").get()
    assert response.json() == {"member_number": member.number, "email": "Nora@example.com",
                               "name": "Nora North"}
    assert services.is_valid_member_number(member.number)
    assert member.joined_store == store
    user = member.user
    assert (user.phone, user.language) == ("+46 70 123 45 67", "sv")
    assert not user.has_usable_password()


def test_enrolling_a_known_email_finds_the_member_in_any_case(store, api, customer):
    response = post(api, "members", {"email": customer.user.email.upper(), "name": "Someone Else"})
    assert response.status_code == 200
    assert response.json()["member_number"] == customer.number
    assert response.json()["name"] == customer.user.name  # the till does not overwrite the name
    assert User.objects.count() == 1 and Member.objects.count() == 1


def test_a_known_person_without_a_card_gets_one(store, api, cashier):
    response = post(api, "members", {"email": "cashier@example.com"})
    assert response.status_code == 201
    assert Member.objects.get().user == cashier
    assert cashier.check_password("correct-horse-battery-staple")  # their password untouched


@pytest.mark.parametrize(("body", "field"), [
    ({}, "email"),
    ({"email": "not-an-email"}, "email"),
    ({"email": "a@example.com", "language": "de"}, "language"),
    ({"email": "a@example.com", "phone": "1" * 40}, "phone"),
])
def test_enrolling_with_bad_input_writes_nothing(store, api, unchanged, body, field):
    with unchanged():
        response = post(api, "members", body)
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_a_members_points_pending_and_next_expiry(shop, store, customer, api):
    services.record_purchase(store=store, member=customer, external_id="R-1", amount="120.00")
    services.record_purchase(store=store, member=customer, external_id="R-2", amount="30.00")
    # The older points expire first: move the first lot's expiry a month closer.
    first_lot = PointLot.objects.get(purchase__external_id="R-1")
    soon = timezone.now() + timedelta(days=20)
    PointLot.objects.filter(pk=first_lot.pk).update(expires_at=soon)
    services.redeem_reward(member=customer, reward=RewardFactory(program=shop, cost=20))
    stamps = ProgramFactory(name="Stamps", slug="stamps", kind="visits", pending_days=14)
    services.change_earning_rule(program=stamps, actor=None, points_per_visit=1,
                                 effective_from=timezone.now() - timedelta(days=1))
    services.record_purchase(store=store, member=customer, external_id="R-3", amount="5.00")

    response = api.get(f"/api/v1/members/{customer.number}")
    assert response.status_code == 200
    assert response.json() == {
        "member_number": customer.number,
        "name": customer.user.name,
        "programs": [
            {"program": "points", "balance": 135, "available": 135, "pending": 0,
             # 20 points of the soonest lot went on the reward: 100 of it are left to expire.
             "expiring_next": {"points": 100, "date": timezone.localdate(soon).isoformat()},
             "tier": None},
            {"program": "stamps", "balance": 1, "available": 0, "pending": 1,
             "expiring_next": None, "tier": None},
        ],
    }


def test_a_new_member_sees_every_active_program_with_nothing_in_it(shop, customer, api):
    ProgramFactory(name="Old program", slug="old", is_active=False)
    response = api.get(f"/api/v1/members/{customer.number.replace('', ' ').strip()}")
    assert response.status_code == 200
    assert response.json()["programs"] == [
        {"program": "points", "balance": 0, "available": 0, "pending": 0, "expiring_next": None,
         "tier": None},
    ]


def test_an_unknown_member_number_is_404(shop, api):
    response = api.get("/api/v1/members/1234567897")
    assert response.status_code == 404
    assert response.json() == {"detail": "There is no member with this number."}


def test_reading_a_member_costs_the_same_few_queries_however_long_their_history(
        shop, store, customer, api, django_assert_max_num_queries):
    services.record_purchase(store=store, member=customer, external_id="R-0", amount="10.00")
    with django_assert_max_num_queries(7) as few:
        assert api.get(f"/api/v1/members/{customer.number}").status_code == 200
    for n in range(1, 40):
        services.record_purchase(store=store, member=customer, external_id=f"R-{n}",
                                 amount="10.00", now=timezone.now() - timedelta(days=n))
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = api.get(f"/api/v1/members/{customer.number}")
    assert response.json()["programs"][0]["balance"] == 400


# --- Purchases ------------------------------------------------------------------------------


def test_a_purchase_earns_points_and_answers_the_new_balance(shop, store, customer, api):
    body = purchase_body(customer, occurred_at="2025-03-01T14:30:00+01:00", items=[
        {"sku": "COF-250", "category": "coffee", "quantity": 2, "unit_price": "100.00"},
        {"sku": "CUP", "quantity": "0.5", "unit_price": "99.80"},
    ])
    response = post(api, "purchases", body)
    assert response.status_code == 201
    assert response.json() == {"purchase": "R-1", "points_earned": {"points": 249},
                               "balance": {"points": 249}, "created": True}
    purchase = Purchase.objects.get()
    assert (purchase.store, purchase.member, purchase.amount, purchase.currency) == (
        store, customer, Decimal("249.90"), "SEK")
    assert purchase.occurred_at.isoformat() == "2025-03-01T13:30:00+00:00"
    assert sorted(purchase.items.values_list("sku", "category", "quantity", "unit_price")) == [
        ("COF-250", "coffee", Decimal("2.000"), Decimal("100.00")),
        ("CUP", "", Decimal("0.500"), Decimal("99.80")),
    ]
    assert balance(customer, shop) == 249
    assert list(ledger_breaches()) == []


def test_a_member_may_be_named_by_email(shop, customer, api):
    response = post(api, "purchases", purchase_body(customer, member=customer.user.email.upper()))
    assert response.status_code == 201
    assert Purchase.objects.get().member == customer


def test_the_same_purchase_sent_again_answers_the_first_result_and_earns_nothing(
        shop, customer, api):
    assert post(api, "purchases", purchase_body(customer)).status_code == 201
    again = post(api, "purchases", purchase_body(customer))
    assert again.status_code == 200
    assert again.json() == {"purchase": "R-1", "points_earned": {"points": 249},
                            "balance": {"points": 249}, "created": False}
    assert Purchase.objects.count() == 1 and LedgerEntry.objects.count() == 1


def test_a_reused_receipt_number_with_another_amount_is_a_conflict(shop, customer, api, unchanged):
    post(api, "purchases", purchase_body(customer))
    with unchanged():
        response = post(api, "purchases", purchase_body(customer, amount="250.00"))
    assert response.status_code == 409
    assert list(response.json()) == ["external_id"]
    assert "already recorded" in response.json()["external_id"][0]


@pytest.mark.parametrize(("change", "field", "message"), [
    ({"amount": 249.9}, "amount", 'Send the amount as a string, such as "12.50"'),
    ({"amount": 249}, "amount", "Send the amount as a string"),
    ({"amount": "12,50"}, "amount", "Enter an amount such as 12.50."),
    ({"amount": "abc"}, "amount", "Enter an amount such as 12.50."),
    ({"amount": "-5.00"}, "amount", "more than zero"),
    ({"amount": "0"}, "amount", "more than zero"),
    ({"amount": "1.999"}, "amount", "at most 2 decimal places"),
    ({"amount": "NaN"}, "amount", "Enter an amount"),
    ({"currency": "EUR"}, "currency", "This shop takes SEK only."),
    ({"member": "1234567897"}, "member", "There is no member with this number or email."),
    ({"member": "nobody@example.com"}, "member", "There is no member"),
    ({"member": "1234567890"}, "member", "a digit is probably mistyped"),
    ({"occurred_at": "2025-03-01T14:30:00"}, "occurred_at", "with its offset"),
    ({"occurred_at": "yesterday"}, "occurred_at", "Datetime has wrong format"),
    ({"occurred_at": "2999-01-01T00:00:00+00:00"}, "occurred_at", "in the future"),
    ({"external_id": "   "}, "external_id", "may not be blank"),
    ({"items": [{"sku": "A", "quantity": 1.5, "unit_price": "1.00"}]}, "items", "as a string"),
    ({"items": [{"sku": "A", "quantity": 1, "unit_price": 1.0}]}, "items", "as a string"),
    ({"items": [{"sku": "A", "quantity": 0, "unit_price": "1.00"}]}, "items", "greater than or equal"),
    ({"items": [{"quantity": 1, "unit_price": "1.00"}]}, "items", "Line 1, sku: This field is required."),
    ({"items": [{"sku": "A", "unit_price": "1.00"}, "A"]}, "items", "Line 2: Invalid data."),
    ({"items": [{"sku": "A", "unit_price": "-1.00"}]}, "items", "more than zero"),
    ({"items": "A"}, "items", "Expected a list"),
])
def test_bad_purchase_input_gets_a_message_for_its_field_and_writes_nothing(
        shop, customer, api, unchanged, change, field, message):
    with unchanged():
        response = post(api, "purchases", purchase_body(customer, **change))
    assert response.status_code == 400, response.json()
    assert list(response.json()) == [field]
    assert message in " ".join(response.json()[field])


@pytest.mark.parametrize("missing", ["member", "external_id", "amount", "currency"])
def test_a_purchase_without_a_required_field_is_refused(shop, customer, api, unchanged, missing):
    body = purchase_body(customer)
    del body[missing]
    with unchanged():
        response = post(api, "purchases", body)
    assert response.status_code == 400
    assert response.json() == {missing: ["This field is required."]}


def test_a_body_that_is_not_json_is_refused(shop, api, unchanged):
    with unchanged():
        response = api.post("/api/v1/purchases", "amount=1", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 415


def test_recording_a_purchase_costs_a_bounded_number_of_queries(
        shop, store, customer, api, django_assert_max_num_queries):
    services.record_purchase(store=store, member=customer, external_id="old-0", amount="10.00")
    one_item = [{"sku": "SKU", "quantity": 1, "unit_price": "1.00"}]
    with django_assert_max_num_queries(30) as small:
        post(api, "purchases", purchase_body(customer, external_id="A", items=one_item),
             **{"Idempotency-Key": "a"})
    # Neither the member's history nor the number of lines makes a purchase dearer.
    for n in range(1, 30):
        services.record_purchase(store=store, member=customer, external_id=f"old-{n}",
                                 amount="10.00")
    items = [{"sku": f"SKU-{n}", "quantity": 1, "unit_price": "1.00"} for n in range(50)]
    with django_assert_max_num_queries(len(small.captured_queries)):
        response = post(api, "purchases", purchase_body(customer, external_id="B", items=items),
                        **{"Idempotency-Key": "b"})
    assert response.status_code == 201
    assert PurchaseItem.objects.filter(purchase__external_id="B").count() == 50


# --- Refunds --------------------------------------------------------------------------------


def test_a_partial_refund_takes_back_points_in_proportion(shop, store, customer, api):
    post(api, "purchases", purchase_body(customer, amount="200.00"))
    response = post(api, "purchases/R-1/refunds", {"external_id": "RF-1", "amount": "50.00"})
    assert response.status_code == 201
    assert response.json() == {"purchase": "R-1", "refund": "RF-1", "points_reversed": {"points": 50},
                               "balance": {"points": 150}, "created": True}
    refund = Refund.objects.get()
    assert (refund.purchase.external_id, refund.amount) == ("R-1", Decimal("50.00"))
    assert balance(customer, shop) == 150
    again = post(api, "purchases/R-1/refunds", {"external_id": "RF-1", "amount": "50.00"})
    assert again.status_code == 200 and again.json()["created"] is False
    assert Refund.objects.count() == 1 and balance(customer, shop) == 150
    assert list(ledger_breaches()) == []


def test_a_receipt_number_with_a_slash_can_be_refunded(shop, customer, api):
    post(api, "purchases", purchase_body(customer, external_id="2025/0001"))
    response = post(api, "purchases/2025%2F0001/refunds", {"external_id": "RF-1", "amount": "1.00"})
    assert response.status_code == 201, response.json()


def test_refunding_more_than_was_paid_is_refused(shop, customer, api, unchanged):
    post(api, "purchases", purchase_body(customer, amount="100.00"))
    post(api, "purchases/R-1/refunds", {"external_id": "RF-1", "amount": "60.00"})
    with unchanged():
        response = post(api, "purchases/R-1/refunds", {"external_id": "RF-2", "amount": "40.01"})
    assert response.status_code == 400
    assert response.json() == {"amount": ["Only 40.00 of this purchase is left to refund."]}


@pytest.mark.parametrize(("body", "field"), [
    ({"external_id": "RF-1", "amount": 10}, "amount"),
    ({"external_id": "RF-1", "amount": "-1"}, "amount"),
    ({"amount": "1.00"}, "external_id"),
])
def test_bad_refund_input_writes_nothing(shop, customer, api, unchanged, body, field):
    post(api, "purchases", purchase_body(customer))
    with unchanged():
        response = post(api, "purchases/R-1/refunds", body)
    assert response.status_code == 400
    assert list(response.json()) == [field]


def test_refunding_an_unknown_or_another_stores_purchase_is_404(shop, customer, api, unchanged):
    elsewhere = StoreFactory(code="web")
    services.record_purchase(store=elsewhere, member=customer, external_id="W-1", amount="10.00")
    with unchanged():
        for receipt in ("W-1", "nothing"):
            response = post(api, f"purchases/{receipt}/refunds", {"external_id": "RF", "amount": "1.00"})
            assert response.status_code == 404
            assert response.json() == {"detail": "This store has no purchase with this receipt number."}


# --- Rewards and redemptions ----------------------------------------------------------------


def test_the_rewards_on_offer(shop, coffee, api):
    now = timezone.now()
    discount = RewardFactory(program=shop, name="10 off", kind=Reward.Kind.FIXED_DISCOUNT,
                             value=Decimal("10.00"), cost=300, stock=0, valid_until=now + timedelta(days=3))
    RewardFactory(program=shop, name="Hidden", is_active=False)
    RewardFactory(program=shop, name="Over", valid_until=now - timedelta(days=1))
    RewardFactory(program=shop, name="Not yet", valid_from=now + timedelta(days=1))
    RewardFactory(program=ProgramFactory(is_active=False), name="Closed program")

    response = api.get("/api/v1/rewards")
    assert response.status_code == 200
    assert response.json() == [
        {"id": coffee.pk, "program": "points", "name": "Coffee", "description": "",
         "kind": "free_product", "value": None, "cost": 100, "in_stock": True, "valid_until": None},
        {"id": discount.pk, "program": "points", "name": "10 off", "description": "",
         "kind": "fixed_discount", "value": "10.00", "cost": 300, "in_stock": False,
         "valid_until": response.json()[1]["valid_until"]},
    ]
    assert datetime.fromisoformat(response.json()[1]["valid_until"]) == discount.valid_until


def test_redeeming_a_reward_gives_a_code_and_spends_the_points(shop, store, customer, coffee, api):
    services.record_purchase(store=store, member=customer, external_id="R-1", amount="150.00")
    response = post(api, "redemptions", {"member": customer.number, "reward": coffee.pk})
    assert response.status_code == 201
    redemption = Redemption.objects.get()
    body = response.json()
    assert body == {"code": redemption.display_code, "program": "points", "reward": coffee.pk,
                    "expires_at": body["expires_at"], "points": 100, "balance": 50}
    assert redemption.expires_at.isoformat().startswith(body["expires_at"][:10])
    assert (redemption.status, redemption.membership.member) == ("issued", customer)
    assert balance(customer, shop) == 50


def test_redeeming_with_too_few_points_is_a_conflict_and_writes_nothing(
        shop, store, customer, coffee, api, unchanged):
    services.record_purchase(store=store, member=customer, external_id="R-1", amount="99.00")
    with unchanged():
        response = post(api, "redemptions", {"member": customer.number, "reward": coffee.pk})
    assert response.status_code == 409
    assert response.json() == {"points": ["The member has 99 points available; this needs 100."]}


def test_redeeming_an_out_of_stock_reward_is_a_conflict(shop, store, customer, api, unchanged):
    reward = RewardFactory(program=shop, stock=0)
    services.record_purchase(store=store, member=customer, external_id="R-1", amount="500.00")
    with unchanged():
        response = post(api, "redemptions", {"member": customer.number, "reward": reward.pk})
    assert response.status_code == 409
    assert response.json() == {"reward": ["This reward is out of stock."]}


@pytest.mark.parametrize(("body", "field"), [
    ({"member": "1234567897", "reward": "coffee"}, "reward"),
    ({"member": "1234567897", "reward": 999999}, "member"),
    ({"reward": 1}, "member"),
])
def test_redeeming_with_bad_input_writes_nothing(shop, coffee, api, unchanged, body, field):
    with unchanged():
        response = post(api, "redemptions", body)
    assert response.status_code == 400
    assert field in response.json()


def test_redeeming_an_unknown_reward_is_refused(shop, customer, api, unchanged):
    with unchanged():
        response = post(api, "redemptions", {"member": customer.number, "reward": 999999})
    assert response.status_code == 400
    assert response.json() == {"reward": ["There is no reward with this id."]}


@pytest.fixture
def issued(shop, store, customer, coffee):
    services.record_purchase(store=store, member=customer, external_id="R-1", amount="100.00")
    return services.redeem_reward(member=customer, reward=coffee)


def test_a_code_is_accepted_once(store, customer, issued, api, unchanged):
    typed = issued.display_code.lower()  # as a cashier might type it
    response = post(api, f"redemptions/{typed}/use")
    assert response.status_code == 200
    assert response.json()["code"] == issued.display_code
    assert response.json()["reward"]["name"] == "Coffee"
    assert response.json()["member_number"] == customer.number
    issued.refresh_from_db()
    assert (issued.status, issued.used_store) == ("used", store)

    with unchanged():
        again = post(api, f"redemptions/{issued.code}/use")
    assert again.status_code == 409
    assert "already used" in again.json()["code"][0]


def test_an_unknown_code_is_404(shop, api, unchanged):
    with unchanged():
        response = post(api, "redemptions/ABCD-EFGH-JKMN/use")
    assert response.status_code == 404
    assert response.json() == {"detail": "There is no reward with this code."}


def test_a_store_guessing_codes_is_slowed_down(store, issued, api, unchanged):
    for _n in range(CODE_LOOKUPS.limit):
        assert post(api, "redemptions/0000-0000-0000/use").status_code == 404
    with unchanged():
        blocked = post(api, f"redemptions/{issued.code}/use")  # even a good code waits now
    assert blocked.status_code == 429
    assert "Too many wrong or unusable codes" in blocked.json()["detail"]
    assert int(blocked["Retry-After"]) >= 1
    issued.refresh_from_db()
    assert issued.status == "issued"
    # Another store has its own budget.
    other = client_for(services.create_api_key(store=StoreFactory(code="web"))[1])
    assert post(other, f"redemptions/{issued.code}/use").status_code == 200


def test_the_limiter_counts_per_window():
    limit = RateLimit("test", limit=2, window=60)
    assert [limit.hit("x", now=120.0), limit.hit("x", now=150.0)] == [1, 2]
    assert limit.is_exceeded("x", now=179.0) and not limit.is_exceeded("y", now=179.0)
    assert not limit.is_exceeded("x", now=180.0)  # a new window
    assert limit.retry_after(now=150.0) == 30


# --- Idempotency ----------------------------------------------------------------------------


def test_a_repeat_with_the_same_key_replays_the_first_answer(shop, customer, api):
    first = post(api, "purchases", purchase_body(customer), **{"Idempotency-Key": "k-1"})
    assert first.status_code == 201 and "Idempotent-Replayed" not in first
    stored = IdempotentRequest.objects.get()
    assert (stored.key, stored.status_code, stored.response) == ("k-1", 201, first.json())

    again = post(api, "purchases", purchase_body(customer), **{"Idempotency-Key": "k-1"})
    assert again.status_code == 201  # the first status, not the 200 of a repeat
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Purchase.objects.count() == 1 and LedgerEntry.objects.count() == 1


def test_the_same_key_with_another_body_is_refused_with_422(shop, customer, api, unchanged):
    post(api, "purchases", purchase_body(customer), **{"Idempotency-Key": "k-1"})
    with unchanged():
        other_body = post(api, "purchases", purchase_body(customer, external_id="R-2"),
                          **{"Idempotency-Key": "k-1"})
        other_path = post(api, "members", {"email": "x@example.com"}, **{"Idempotency-Key": "k-1"})
    for response in (other_body, other_path):
        assert response.status_code == 422
        assert "already used for a different request" in response.json()["detail"]


def test_errors_are_not_stored_so_a_corrected_request_may_reuse_the_key(shop, customer, api):
    bad = post(api, "purchases", purchase_body(customer, amount=249.9), **{"Idempotency-Key": "k"})
    assert bad.status_code == 400
    assert not IdempotentRequest.objects.exists()
    good = post(api, "purchases", purchase_body(customer), **{"Idempotency-Key": "k"})
    assert good.status_code == 201


def test_keys_belong_to_their_store(shop, customer, api):
    other = client_for(services.create_api_key(store=StoreFactory(code="web"))[1])
    assert post(api, "purchases", purchase_body(customer), **{"Idempotency-Key": "k"}).status_code == 201
    response = post(other, "purchases", purchase_body(customer), **{"Idempotency-Key": "k"})
    assert response.status_code == 201 and "Idempotent-Replayed" not in response
    assert Purchase.objects.count() == 2


def test_a_key_too_long_is_refused(shop, customer, api, unchanged):
    with unchanged():
        response = post(api, "purchases", purchase_body(customer), **{"Idempotency-Key": "k" * 201})
    assert response.status_code == 400
    assert list(response.json()) == ["Idempotency-Key"]


def test_a_used_code_replays_its_acceptance_for_the_same_key(issued, api):
    first = post(api, f"redemptions/{issued.code}/use", **{"Idempotency-Key": "use-1"})
    again = post(api, f"redemptions/{issued.code}/use", **{"Idempotency-Key": "use-1"})
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert post(api, f"redemptions/{issued.code}/use").status_code == 409


@needs_postgres()
@pytest.mark.django_db(transaction=True)
def test_parallel_requests_with_one_key_redeem_once_and_answer_alike(settings):
    settings.SHOP_CURRENCY = "SEK"
    program = ProgramFactory(slug="points")
    services.change_earning_rule(program=program, actor=None, points_per_unit=Decimal("1"),
                                 effective_from=timezone.now() - timedelta(days=1))
    store, member = StoreFactory(code="main"), MemberFactory()
    reward = RewardFactory(program=program, cost=100)
    services.record_purchase(store=store, member=member, external_id="R-1", amount="1000.00")
    plaintext = services.create_api_key(store=store)[1]

    # A redemption is the hard case: nothing but the key tells two copies apart.
    outcomes = run_in_parallel(8, lambda i: post(
        client_for(plaintext), "redemptions", {"member": member.number, "reward": reward.pk},
        **{"Idempotency-Key": "same"}))

    assert all(getattr(o, "status_code", None) == 201 for o in outcomes), outcomes
    assert len({json.dumps(o.json(), sort_keys=True) for o in outcomes}) == 1
    assert Redemption.objects.count() == 1
    assert Membership.objects.get(member=member, program=program).balance == 900
    assert list(ledger_breaches()) == []


@needs_postgres()
@pytest.mark.django_db(transaction=True)
def test_parallel_enrolments_of_one_email_make_one_member():
    store = StoreFactory(code="main")
    plaintext = services.create_api_key(store=store)[1]
    outcomes = run_in_parallel(8, lambda i: post(client_for(plaintext), "members",
                                                 {"email": "same@example.com"}))
    statuses = sorted(getattr(o, "status_code", o) for o in outcomes)
    assert statuses == [200] * 7 + [201], outcomes
    assert User.objects.count() == 1 and Member.objects.count() == 1


# --- The schema and the rest ----------------------------------------------------------------


def test_the_schema_lists_every_endpoint_with_the_bearer_key():
    response = APIClient().get("/api/v1/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = json.loads(response.content)
    assert set(schema["paths"]) == {
        "/api/v1/members", "/api/v1/members/{member_number}", "/api/v1/purchases",
        "/api/v1/purchases/{external_id}/refunds", "/api/v1/rewards", "/api/v1/redemptions",
        "/api/v1/redemptions/{code}/use",
    }
    assert schema["components"]["securitySchemes"]["apiKey"] == {
        "type": "http", "scheme": "bearer",
        "description": "A store's API key, made with `manage.py create_api_key --store <code>`.",
    }
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            assert operation["security"] == [{"apiKey": []}], (method, path)
            if method == "post":
                assert "Idempotency-Key" in [p["name"] for p in operation["parameters"]], path
    amount = schema["components"]["schemas"]["Purchase"]["properties"]["amount"]
    assert (amount["type"], amount["format"]) == ("string", "decimal")


def test_an_unknown_api_path_answers_json(api):
    response = api.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert "schema" in response.json()["detail"]


def test_a_wrong_method_answers_json(api):
    response = api.delete("/api/v1/purchases")
    assert response.status_code == 405
    assert "detail" in response.json()


def test_the_caller_behind_a_key_is_the_store_not_a_person(store, api_key, rf):
    key, plaintext = api_key
    caller, auth = ApiKeyAuthentication().authenticate(
        rf.get("/api/v1/rewards", headers={"Authorization": f"Bearer {plaintext}"}))
    assert isinstance(caller, StoreClient) and not isinstance(caller, User)
    assert (caller.store, auth, caller.is_authenticated) == (store, key, True)
