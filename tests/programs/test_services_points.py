"""The points ledger through its services: earning, refunds, rewards, payments, expiry."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.utils import timezone

from loyalty_site.models import StaffAction
from programs import services
from programs.models import LedgerEntry, Membership, PointLot, Program, Redemption, Reward
from programs.points import CODE_ALPHABET
from programs.selectors import ledger_breaches

pytestmark = pytest.mark.django_db


def membership(member, program):
    return Membership.objects.get(member=member, program=program)


def buy(store, member, amount, receipt="R-1", **kwargs):
    return services.record_purchase(store=store, member=member, external_id=receipt,
                                    amount=amount, **kwargs)[0]


def test_a_purchase_earns_points_rounded_down(shop, store, customer):
    purchase = buy(store, customer, "249.90")
    m = membership(customer, shop)
    assert (m.balance, m.available, m.lifetime_earned) == (249, 249, 249)
    entry = LedgerEntry.objects.get()
    assert (entry.kind, entry.points, entry.purchase, entry.rule.version) == ("earn", 249, purchase, 1)
    assert list(ledger_breaches()) == []


def test_a_repeated_purchase_earns_once(shop, store, customer):
    buy(store, customer, "100.00")
    _again, created = services.record_purchase(store=store, member=customer, external_id="R-1",
                                              amount="100.00")
    assert created is False
    assert membership(customer, shop).balance == 100
    assert LedgerEntry.objects.count() == 1


def test_a_rate_change_applies_from_then_on_and_never_rewrites_history(shop, store, customer):
    buy(store, customer, "100.00", receipt="before")
    services.change_earning_rule(program=shop, actor=None, points_per_unit=Decimal("2"))
    buy(store, customer, "100.00", receipt="after")
    entries = LedgerEntry.objects.order_by("pk")
    assert [(e.points, e.rule.version) for e in entries] == [(100, 1), (200, 2)]


def test_a_stamp_card_earns_per_visit_above_the_minimum(shop, store, customer):
    card = Program.objects.create(name="Coffee card", slug="coffee", kind=Program.Kind.VISITS)
    services.change_earning_rule(program=card, actor=None, points_per_visit=1,
                                 minimum_amount=Decimal("20"))
    buy(store, customer, "35.00", receipt="a")
    buy(store, customer, "5.00", receipt="b")
    assert membership(customer, card).balance == 1


def test_pending_points_cannot_be_spent_until_released(shop, store, customer, coffee):
    shop.pending_days = 14
    shop.save()
    bought = timezone.now()
    buy(store, customer, "150.00", now=bought)
    m = membership(customer, shop)
    assert (m.balance, m.pending, m.available) == (150, 150, 0)
    with pytest.raises(services.PointsError):
        services.redeem_reward(member=customer, reward=coffee)
    assert services.release_pending_points(now=bought + timedelta(days=13)) == 0
    assert services.release_pending_points(now=bought + timedelta(days=14)) == 1
    assert services.release_pending_points(now=bought + timedelta(days=15)) == 0
    m.refresh_from_db()
    assert (m.balance, m.pending, m.available) == (150, 0, 150)
    services.redeem_reward(member=customer, reward=coffee)
    assert list(ledger_breaches()) == []


def test_a_partial_refund_reverses_in_proportion_and_a_full_one_exactly(shop, store, customer):
    purchase = buy(store, customer, "99.99")
    services.refund_purchase(purchase=purchase, external_id="F-1", amount="33.33")
    m = membership(customer, shop)
    assert m.balance == 99 - 33
    services.refund_purchase(purchase=purchase, external_id="F-2", amount="66.66")
    m.refresh_from_db()
    assert m.balance == 0
    assert sorted(e.points for e in LedgerEntry.objects.filter(kind="reverse")) == [-66, -33]
    assert list(ledger_breaches()) == []


def test_a_refund_reverses_what_was_earned_then_not_todays_rate(shop, store, customer):
    purchase = buy(store, customer, "100.00")
    services.change_earning_rule(program=shop, actor=None, points_per_unit=Decimal("5"))
    services.refund_purchase(purchase=purchase, external_id="F-1", amount="100.00")
    assert membership(customer, shop).balance == 0


def test_refunding_spent_points_takes_the_balance_below_zero_and_the_next_purchase_repays(
    shop, store, customer, coffee
):
    purchase = buy(store, customer, "100.00")
    services.redeem_reward(member=customer, reward=coffee)
    services.refund_purchase(purchase=purchase, external_id="F-1", amount="100.00")
    m = membership(customer, shop)
    assert (m.balance, m.points_owed) == (-100, 100)
    assert Redemption.objects.get().status == "issued"  # the reward already given is not clawed back
    assert list(ledger_breaches()) == []
    buy(store, customer, "150.00", receipt="R-2")
    m.refresh_from_db()
    assert (m.balance, m.points_owed, m.available) == (50, 0, 50)
    assert list(ledger_breaches()) == []


@pytest.mark.parametrize(("amount", "message"), [
    ("100.01", "left to refund"), ("0", "more than zero"), ("abc", "amount such as"),
])
def test_bad_refunds_write_nothing(shop, store, customer, amount, message):
    purchase = buy(store, customer, "100.00")
    with pytest.raises(ValidationError) as error:
        services.refund_purchase(purchase=purchase, external_id="F-1", amount=amount)
    assert message in str(error.value)
    assert membership(customer, shop).balance == 100
    assert not purchase.refunds.exists()


def test_redeeming_issues_a_readable_single_use_code(shop, store, customer, coffee):
    buy(store, customer, "250.00")
    redemption = services.redeem_reward(member=customer, reward=coffee)
    assert len(redemption.code) == 12 and set(redemption.code) <= set(CODE_ALPHABET)
    assert redemption.display_code.count("-") == 2
    assert membership(customer, shop).balance == 150
    typed = redemption.display_code.lower().replace("0", "o")
    services.use_redemption(code=typed, store=store)
    with pytest.raises(services.PointsError, match="already used"):
        services.use_redemption(code=redemption.code, store=store)


def test_redeeming_with_too_few_points_or_no_stock_writes_nothing(shop, store, customer, coffee):
    buy(store, customer, "99.00")
    with pytest.raises(services.PointsError, match="99 points available"):
        services.redeem_reward(member=customer, reward=coffee)
    buy(store, customer, "500.00", receipt="R-2")
    coffee.stock = 0
    coffee.save()
    with pytest.raises(services.PointsError, match="out of stock"):
        services.redeem_reward(member=customer, reward=coffee)
    assert not Redemption.objects.exists()
    assert membership(customer, shop).balance == 599


def test_cancelling_a_code_returns_points_to_their_lots_and_the_stock(shop, store, customer, coffee):
    coffee.stock = 5
    coffee.save()
    buy(store, customer, "100.00")
    redemption = services.redeem_reward(member=customer, reward=coffee)
    assert PointLot.objects.get().remaining == 0
    services.cancel_redemption(redemption=redemption)
    services.cancel_redemption(redemption=redemption)  # harmless the second time
    assert PointLot.objects.get().remaining == 100
    assert membership(customer, shop).balance == 100
    assert Reward.objects.get().stock == 5
    with pytest.raises(services.PointsError, match="no reward with this code"):
        services.use_redemption(code="ZZZZ-ZZZZ-ZZZZ", store=store)
    with pytest.raises(services.PointsError, match="cancelled"):
        services.use_redemption(code=redemption.code, store=store)


def test_spending_takes_the_soonest_expiring_points_first(shop, store, customer, coffee):
    now = timezone.now()
    buy(store, customer, "80.00", receipt="old", now=now - timedelta(days=300))
    buy(store, customer, "80.00", receipt="new", now=now)
    services.redeem_reward(member=customer, reward=coffee)
    remaining = list(PointLot.objects.order_by("created_at").values_list("remaining", flat=True))
    assert remaining == [0, 60]


def test_paying_with_points_at_the_point_value(shop, store, customer):
    buy(store, customer, "100.00")
    payment = services.pay_with_points(member=customer, program=shop, points=37, store=store)
    assert payment.value == Decimal("3.70")
    assert membership(customer, shop).balance == 63
    with pytest.raises(services.PointsError, match="63 points available"):
        services.pay_with_points(member=customer, program=shop, points=64, store=store)


def test_points_expire_after_twelve_months_once(shop, store, customer):
    then = timezone.now() - timedelta(days=400)
    buy(store, customer, "120.00", receipt="old", now=then)
    buy(store, customer, "30.00", receipt="new")
    assert services.expire_points() == (1, 120)
    assert services.expire_points() == (0, 0)
    m = membership(customer, shop)
    assert m.balance == 30
    entry = LedgerEntry.objects.get(kind="expire")
    assert (entry.points, entry.balance_after) == (-120, 30)
    assert list(ledger_breaches()) == []


def test_inactivity_expiry_restarts_with_each_visit(shop, store, customer):
    shop.expiry = Program.Expiry.AFTER_INACTIVITY
    shop.expiry_months = 6
    shop.save()
    start = timezone.now() - timedelta(days=300)
    buy(store, customer, "50.00", receipt="a", now=start)
    buy(store, customer, "50.00", receipt="b", now=start + timedelta(days=150))
    assert services.expire_points(now=start + timedelta(days=250)) == (0, 0)
    assert services.expire_points(now=start + timedelta(days=340)) == (2, 100)


def test_a_cashier_adjusts_within_the_limit_and_is_logged(shop, store, customer, cashier, settings):
    settings.CASHIER_ADJUST_LIMIT = 500
    services.adjust_points(member=customer, program=shop, points=50, reason="Broken cup",
                           actor=cashier)
    assert membership(customer, shop).balance == 50
    action = StaffAction.objects.get()
    assert (action.actor, action.action, action.reason) == (cashier, "programs.points.adjusted", "Broken cup")
    with pytest.raises(services.PointsError, match="need a manager"):
        services.adjust_points(member=customer, program=shop, points=501, reason="Big",
                               actor=cashier)
    with pytest.raises(services.PointsError, match="Say why"):
        services.adjust_points(member=customer, program=shop, points=5, reason=" ", actor=cashier)
    with pytest.raises(services.PointsError, match="50 points available"):
        services.adjust_points(member=customer, program=shop, points=-51, reason="x", actor=cashier)
    assert StaffAction.objects.count() == 1


def test_a_manager_adjusts_above_the_limit_and_a_member_cannot_at_all(shop, customer, manager, member):
    services.adjust_points(member=customer, program=shop, points=5000, reason="Goodwill",
                           actor=manager)
    with pytest.raises(PermissionDenied):
        services.adjust_points(member=customer, program=shop, points=5, reason="x",
                               actor=member.user)
    assert membership(customer, shop).balance == 5000


def test_verify_ledger_names_a_breach(shop, store, customer):
    buy(store, customer, "100.00")
    call_command("verify_ledger")
    Membership.objects.update(balance=101)
    with pytest.raises(Exception, match="broken for 1 membership"):
        call_command("verify_ledger")


def test_the_database_refuses_to_rewrite_a_ledger_entry(shop, store, customer):
    from django.db import DatabaseError, connection, transaction

    if connection.vendor != "postgresql":
        pytest.skip("the append-only trigger is PostgreSQL's; CI always runs it")
    buy(store, customer, "100.00")
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        LedgerEntry.objects.update(points=1000)
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        LedgerEntry.objects.all().delete()
    assert LedgerEntry.objects.get().points == 100


def test_a_free_item_on_the_receipt_is_fine(shop, store, customer):
    purchase, _ = services.record_purchase(
        store=store, member=customer, external_id="R-1", amount="10.00",
        items=[{"sku": "BAG", "quantity": 1, "unit_price": "0.00"},
               {"sku": "TEA", "quantity": 1, "unit_price": "10.00"}])
    assert purchase.items.count() == 2


def test_a_reward_of_a_closed_program_cannot_be_redeemed(shop, store, customer, coffee):
    buy(store, customer, "500.00")
    shop.is_active = False
    shop.save()
    with pytest.raises(services.PointsError, match="not available"):
        services.redeem_reward(member=customer, reward=coffee)


@pytest.mark.parametrize(("currency", "rate", "amount", "points", "bad_amount"), [
    ("JPY", "0.01", "1299", 12, "1299.5"),     # one point per 100 yen; yen have no decimals
    ("SEK", "1", "249.90", 249, "249.901"),
    ("PLN", "1.5", "10.99", 16, "10.999"),     # 16.485 rounds down to 16
])
def test_each_currency_earns_as_documented(settings, store, customer, currency, rate, amount,
                                           points, bad_amount):
    settings.SHOP_CURRENCY = currency
    program = Program.objects.create(name="P", slug=f"p-{currency}")
    services.change_earning_rule(program=program, actor=None, points_per_unit=Decimal(rate),
                                 effective_from=timezone.now() - timedelta(days=1))
    services.record_purchase(store=store, member=customer, external_id="R-1", amount=amount)
    assert membership(customer, program).balance == points
    with pytest.raises(ValidationError, match="decimal places"):
        services.record_purchase(store=store, member=customer, external_id="R-2", amount=bad_amount)


def test_a_partial_refund_takes_back_exactly_its_share(shop, store, customer):
    purchase = buy(store, customer, "30.00")
    refund, _ = services.refund_purchase(purchase=purchase, external_id="F-1", amount="10.00")
    assert [e.points for e in LedgerEntry.objects.filter(refund=refund)] == [-10]


def test_cancelling_a_code_after_a_refund_pays_off_what_is_owed_first(shop, store, customer, coffee):
    old = timezone.now() - timedelta(days=400)
    purchase = buy(store, customer, "100.00", now=old)
    redemption = services.redeem_reward(member=customer, reward=coffee, now=old)
    services.refund_purchase(purchase=purchase, external_id="F-1", amount="100.00", now=old)
    services.cancel_redemption(redemption=redemption, now=old)
    m = membership(customer, shop)
    assert (m.balance, m.points_owed) == (0, 0)
    services.expire_points()
    m.refresh_from_db()
    assert m.balance == 0
    assert list(ledger_breaches()) == []


def test_absurd_figures_are_refused_before_they_reach_the_database(shop, customer, manager, store):
    with pytest.raises(services.PointsError, match="At most"):
        services.adjust_points(member=customer, program=shop, points=3_000_000_000, reason="typo",
                               actor=manager)
    with pytest.raises(ValidationError, match="points per unit"):
        services.change_earning_rule(program=shop, actor=None, points_per_unit=Decimal("100000"))
    for quantity in ["NaN", "Infinity", "0.0001", "1e9"]:
        with pytest.raises(ValidationError, match="quantity"):
            services.record_purchase(store=store, member=customer, external_id="R-1", amount="1.00",
                                     items=[{"sku": "A", "quantity": quantity, "unit_price": "1.00"}])
    assert not LedgerEntry.objects.exists()
