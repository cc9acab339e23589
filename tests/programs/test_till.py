"""The till screen: a cashier finds a member, records purchases and refunds, redeems and accepts
reward codes, pays with points and adjusts points; a member cannot get in."""

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from loyalty_site.models import StaffAction
from programs import services
from programs.models import LedgerEntry, Membership, Purchase, Redemption, Refund, Reward
from programs.ratelimit import TILL_CODE_LOOKUPS
from programs.selectors import find_members, ledger_breaches

from ..factories import MemberFactory, StoreFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def mia(member):
    """The member at the till: Mia, with a phone number written the international way."""
    member.user.phone = "+46 70 123 45 67"
    member.user.save()
    return member


@pytest.fixture
def at_till(client, cashier, store):
    client.force_login(cashier)
    return client


def text(response):
    """What the person sees: the page without tags, entities decoded, spaces collapsed."""
    from html import unescape

    return " ".join(unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def balance(member, program):
    return Membership.objects.get(member=member, program=program).balance


def member_url(member):
    return reverse("staff:till_member", args=[member.number])


def buy(client, member, amount, receipt):
    return client.post(reverse("staff:till_purchase", args=[member.number]), {
        "purchase-amount": amount, "purchase-external_id": receipt}, follow=True)


# --- Finding a member ------------------------------------------------------------------------


def test_a_cashier_finds_a_member_by_the_number_typed_with_spaces(at_till, mia):
    response = at_till.get(reverse("staff:till"), {"q": mia.display_number})
    assert " " in mia.display_number
    assert response.status_code == 302 and response["Location"] == member_url(mia)
    page = text(at_till.get(response["Location"]))
    assert "Mia Member" in page and mia.display_number in page


def test_a_cashier_finds_a_member_by_email_in_any_case(at_till, mia):
    response = at_till.get(reverse("staff:till"), {"q": "  MEMBER@Example.COM "})
    assert response.status_code == 302 and response["Location"] == member_url(mia)


@pytest.mark.parametrize("typed", ["070-123 45 67", "0701234567", "+46701234567", "0046 70 123 45 67"])
def test_a_cashier_finds_a_member_by_phone_however_it_is_written(at_till, mia, typed):
    response = at_till.get(reverse("staff:till"), {"q": typed})
    assert response.status_code == 302 and response["Location"] == member_url(mia)


def test_a_mistyped_number_says_a_digit_is_wrong(at_till, mia):
    wrong_check_digit = mia.number[:-1] + str((int(mia.number[-1]) + 1) % 10)
    response = at_till.get(reverse("staff:till"), {"q": wrong_check_digit})
    assert response.status_code == 200
    assert "is not a member number: a digit is mistyped" in text(response)


def test_an_unknown_search_says_nothing_was_found(at_till, mia):
    page = text(at_till.get(reverse("staff:till"), {"q": "nobody@example.com"}))
    assert "No member found for “nobody@example.com”" in page


def test_several_members_with_one_phone_are_listed_to_choose_from(at_till, mia):
    sibling = MemberFactory(user__name="Max Member", user__phone="070 123 45 67")
    response = at_till.get(reverse("staff:till"), {"q": "070 123 45 67"})
    page = text(response)
    assert response.status_code == 200 and "2 members found" in page
    assert "Mia Member" in page and "Max Member" in page
    assert member_url(sibling) in response.content.decode()


def test_a_short_fragment_of_a_phone_number_finds_no_one(mia):
    assert find_members("4567") == []
    assert find_members("45 67") == []


def test_a_reward_code_scanned_into_the_search_is_offered_to_the_code_form(at_till, mia, shop, store,
                                                                            coffee):
    services.record_purchase(store=store, member=mia, external_id="R-1", amount="150")
    redemption = services.redeem_reward(member=mia, reward=coffee)
    response = at_till.get(reverse("staff:till"), {"q": redemption.code})
    assert "That looks like a reward code: accept it below." in text(response)
    assert f'value="{redemption.code}"' in response.content.decode()


# --- Purchases and refunds -------------------------------------------------------------------


def test_a_cashier_records_a_purchase_and_sees_the_points_earned(at_till, mia, shop, store):
    response = buy(at_till, mia, "249,90", "R-100")
    page = text(response)
    assert response.redirect_chain == [(member_url(mia), 302)]
    assert "Purchase of SEK249.90 recorded, receipt R-100." in page
    assert "Points: 249 points earned; balance 249, 249 available now." in page
    purchase = Purchase.objects.get()
    assert (purchase.store, purchase.member, purchase.amount) == (store, mia, Decimal("249.90"))
    assert balance(mia, shop) == 249
    assert list(ledger_breaches()) == []


def test_the_purchase_form_suggests_a_receipt_number(at_till, mia, shop):
    html = at_till.get(member_url(mia)).content.decode()
    suggested = re.search(r'name="purchase-external_id" value="([^"]+)"', html).group(1)
    assert suggested.startswith("T")
    buy(at_till, mia, "10", suggested)
    assert Purchase.objects.get().external_id == suggested


def test_a_repeated_receipt_number_says_it_was_recorded_and_earns_nothing(at_till, mia, shop):
    buy(at_till, mia, "100.00", "R-7")
    page = text(buy(at_till, mia, "100.00", "R-7"))
    assert "Receipt R-7 was already recorded at Main Street" in page
    assert "Nothing was earned this time." in page
    assert Purchase.objects.count() == 1 and balance(mia, shop) == 100
    assert LedgerEntry.objects.count() == 1


def test_the_same_receipt_with_another_amount_is_refused_beside_the_field(at_till, mia, shop):
    buy(at_till, mia, "100.00", "R-7")
    response = buy(at_till, mia, "80.00", "R-7")
    assert response.redirect_chain == []
    assert "Receipt R-7 was already recorded with another amount or member." in text(response)
    assert Purchase.objects.count() == 1 and balance(mia, shop) == 100


def test_a_bad_amount_is_refused_beside_the_field_and_writes_nothing(at_till, mia, shop):
    response = buy(at_till, mia, "12.345", "R-1")
    html = response.content.decode()
    assert "SEK amounts have at most 2 decimal places." in text(response)
    # The message sits with the amount field, and the field is where the cursor goes.
    assert re.search(r'name="purchase-amount"[^>]*autofocus', html)
    assert not Purchase.objects.exists() and not LedgerEntry.objects.exists()


def test_without_a_store_chosen_nothing_is_recorded_until_the_cashier_picks_one(at_till, mia, shop,
                                                                                store):
    StoreFactory(code="web", name="Web shop")
    page = text(buy(at_till, mia, "50", "R-1"))
    assert "Choose your store at the top of the till first." in page
    assert not Purchase.objects.exists()

    at_till.post(reverse("staff:till_store"), {"store": store.pk, "next": member_url(mia)})
    buy(at_till, mia, "50", "R-1")
    assert Purchase.objects.get().store == store


def test_a_refund_defaults_to_what_is_left_and_takes_the_points_back(at_till, mia, shop, store):
    services.record_purchase(store=store, member=mia, external_id="R-1", amount="200.00")
    purchase = Purchase.objects.get()
    services.refund_purchase(purchase=purchase, external_id="first", amount="50.00")
    assert balance(mia, shop) == 150

    html = at_till.get(member_url(mia), {"refund": purchase.pk}).content.decode()
    assert re.search(r'name="refund-amount" value="150.00"', html)
    response = at_till.post(reverse("staff:till_refund", args=[mia.number]), {
        "refund-purchase": purchase.pk, "refund-amount": "", "refund-external_id": "second"},
        follow=True)
    page = text(response)
    assert "Refund of SEK150.00 recorded for receipt R-1." in page
    assert "Points: 150 points taken back; balance 0, 0 available now." in page
    assert sorted(Refund.objects.values_list("amount", flat=True)) == [Decimal("50.00"), Decimal("150.00")]
    assert balance(mia, shop) == 0
    assert list(ledger_breaches()) == []


def test_a_refund_above_what_is_left_is_refused_and_writes_nothing(at_till, mia, shop, store):
    purchase, _ = services.record_purchase(store=store, member=mia, external_id="R-1", amount="100")
    response = at_till.post(reverse("staff:till_refund", args=[mia.number]), {
        "refund-purchase": purchase.pk, "refund-amount": "120", "refund-external_id": "x"})
    assert "Only 100.00 of this purchase is left to refund." in text(response)
    assert not Refund.objects.exists() and balance(mia, shop) == 100


def test_another_members_purchase_cannot_be_refunded_from_this_panel(at_till, mia, shop, store):
    other = MemberFactory()
    purchase, _ = services.record_purchase(store=store, member=other, external_id="R-1", amount="100")
    response = at_till.post(reverse("staff:till_refund", args=[mia.number]), {
        "refund-purchase": purchase.pk, "refund-amount": "100", "refund-external_id": "x"})
    assert response.status_code == 200 and "Select a valid choice" in text(response)
    assert not Refund.objects.exists()


# --- Rewards and codes -----------------------------------------------------------------------


def test_a_cashier_redeems_a_reward_the_member_can_afford(at_till, mia, shop, store, coffee):
    Reward.objects.create(program=shop, name="Cinema", kind=Reward.Kind.EXPERIENCE, cost=5000)
    services.record_purchase(store=store, member=mia, external_id="R-1", amount="150")
    html = at_till.get(member_url(mia)).content.decode()
    assert "Coffee · 100 points" in html and "Cinema" not in html  # only what they can afford

    page = text(at_till.post(reverse("staff:till_redeem", args=[mia.number]),
                             {"redeem-reward": coffee.pk}, follow=True))
    redemption = Redemption.objects.get()
    assert ("Coffee redeemed for 100 points; balance 50, 50 available now. "
            f"Code {redemption.display_code} is ready") in page
    assert balance(mia, shop) == 50


def test_a_code_is_accepted_once_and_the_second_time_refused_with_the_reason(at_till, mia, shop, store,
                                                                             coffee):
    services.record_purchase(store=store, member=mia, external_id="R-1", amount="150")
    redemption = services.redeem_reward(member=mia, reward=coffee)
    typed = redemption.display_code.lower()  # as a person types it: lower case, with dashes

    response = at_till.post(reverse("staff:till_accept_code"), {"code-code": typed}, follow=True)
    assert response.redirect_chain == [(reverse("staff:till"), 302)]
    assert f"Code {redemption.display_code} accepted: give Mia Member the reward “Coffee”." in text(response)
    redemption.refresh_from_db()
    assert (redemption.status, redemption.used_store) == (Redemption.Status.USED, store)

    again = at_till.post(reverse("staff:till_accept_code"), {"code-code": typed,
                                                            "code-member": mia.number})
    assert again.status_code == 200
    assert "This code was already used on" in text(again)
    assert Redemption.objects.get().used_at == redemption.used_at


def test_wrong_codes_are_limited_per_member_of_staff(at_till, client, mia, shop, store, coffee,
                                                     manager):
    services.record_purchase(store=store, member=mia, external_id="R-1", amount="150")
    redemption = services.redeem_reward(member=mia, reward=coffee)
    for _n in range(TILL_CODE_LOOKUPS.limit):
        response = at_till.post(reverse("staff:till_accept_code"), {"code-code": "0000-0000-0000"})
        assert "There is no reward with this code." in text(response)

    refused = at_till.post(reverse("staff:till_accept_code"), {"code-code": redemption.code})
    assert "Too many codes were refused in the last few minutes." in text(refused)
    assert Redemption.objects.get().status == Redemption.Status.ISSUED

    client.force_login(manager)  # someone else at the same store still can
    client.post(reverse("staff:till_accept_code"), {"code-code": redemption.code})
    assert Redemption.objects.get().status == Redemption.Status.USED


def test_a_cashier_takes_part_of_the_bill_in_points(at_till, cashier, mia, shop, store):
    services.record_purchase(store=store, member=mia, external_id="R-1", amount="300")
    page = text(at_till.post(reverse("staff:till_pay", args=[mia.number]), {
        "pay-program": shop.pk, "pay-points": "120"}, follow=True))
    assert "120 points paid SEK12.00 of the purchase. Points: balance 180, 180 available now." in page
    assert balance(mia, shop) == 180
    assert LedgerEntry.objects.get(kind=LedgerEntry.Kind.PAY).actor == cashier

    too_many = at_till.post(reverse("staff:till_pay", args=[mia.number]), {
        "pay-program": shop.pk, "pay-points": "500"})
    assert "The member has 180 points available; this needs 500." in text(too_many)
    assert balance(mia, shop) == 180


# --- Adjustments -----------------------------------------------------------------------------


def adjust(client, member, program, points, reason="Coffee machine ate the card", direction="add"):
    return client.post(reverse("staff:till_adjust", args=[member.number]), {
        "adjust-program": program.pk, "adjust-direction": direction, "adjust-points": points,
        "adjust-reason": reason}, follow=True)


def test_a_cashier_adjusts_within_the_limit_with_a_reason(at_till, cashier, mia, shop, settings):
    settings.CASHIER_ADJUST_LIMIT = 500
    page = text(adjust(at_till, mia, shop, 500))
    assert "500 points added to Points; balance 500, 500 available now." in page
    entry = LedgerEntry.objects.get()
    assert (entry.kind, entry.points, entry.actor, entry.reason) == (
        "adjust", 500, cashier, "Coffee machine ate the card")
    assert StaffAction.objects.get(action="programs.points.adjusted").actor == cashier

    page = text(adjust(at_till, mia, shop, 200, direction="take"))
    assert "200 points taken away from Points; balance 300" in page
    assert balance(mia, shop) == 300


def test_an_adjustment_needs_a_reason(at_till, mia, shop):
    response = adjust(at_till, mia, shop, 10, reason="   ")
    assert response.redirect_chain == [] and "This field is required." in text(response)
    assert not LedgerEntry.objects.exists()


def test_above_the_limit_a_cashier_is_refused_and_a_manager_is_not(client, cashier, manager, mia,
                                                                   shop, store, settings):
    settings.CASHIER_ADJUST_LIMIT = 500
    client.force_login(cashier)
    page = text(adjust(client, mia, shop, 501))
    assert "Adjustments above 500 points need a manager." in page
    assert not LedgerEntry.objects.exists()

    client.force_login(manager)
    page = text(adjust(client, mia, shop, 501))
    assert "501 points added to Points" in page
    assert LedgerEntry.objects.get().actor == manager and balance(mia, shop) == 501


# --- Who may use the till --------------------------------------------------------------------


def test_a_member_gets_403_on_every_till_page_and_action(client, mia, shop, store):
    client.force_login(mia.user)
    assert client.get(reverse("staff:till")).status_code == 403
    assert client.get(member_url(mia)).status_code == 403
    response = buy(client, mia, "100", "R-1")
    assert response.status_code == 403 and "Staff only" in text(response)
    assert adjust(client, mia, shop, 10).status_code == 403
    assert not Purchase.objects.exists() and not LedgerEntry.objects.exists()


def test_anonymous_visitors_are_sent_to_the_staff_sign_in(client, mia):
    response = client.get(member_url(mia))
    assert response.status_code == 302 and response["Location"].startswith(reverse("staff:login"))


def test_the_dashboard_links_to_the_till(at_till):
    html = at_till.get(reverse("staff:home")).content.decode()
    assert f'href="{reverse("staff:till")}"' in html


def test_an_unknown_member_number_is_404(at_till):
    assert at_till.get(reverse("staff:till_member", args=["1234567890"])).status_code == 404


def test_reloading_an_action_address_goes_back_to_the_member(at_till, mia):
    response = at_till.get(reverse("staff:till_purchase", args=[mia.number]))
    assert response.status_code == 302 and response["Location"] == member_url(mia)


# --- Bounded queries -------------------------------------------------------------------------


def lots_of_history(member, store, program):
    """Sixty purchases, some refunded, and a dozen reward codes, used, cancelled and ready."""
    rewards = [Reward.objects.create(program=program, name=f"Reward {n}", kind=Reward.Kind.FREE_PRODUCT,
                                     cost=10 + n) for n in range(15)]
    for n in range(60):
        purchase, _ = services.record_purchase(store=store, member=member, external_id=f"L-{n}",
                                               amount="100")
        if n % 6 == 0:
            services.refund_purchase(purchase=purchase, external_id="back", amount="30")
    for n in range(12):
        redemption = services.redeem_reward(member=member, reward=rewards[n])
        if n % 3 == 0:
            services.use_redemption(code=redemption.code, store=store)
        elif n % 3 == 1:
            services.cancel_redemption(redemption=redemption)


def count_queries(callable_):
    with CaptureQueriesContext(connection) as queries:
        response = callable_()
    assert response.status_code in (200, 302)
    return len(queries)


def test_till_pages_need_the_same_few_queries_whatever_the_data(at_till, mia, shop, store,
                                                                django_assert_max_num_queries):
    services.record_purchase(store=store, member=mia, external_id="first", amount="100")
    MemberFactory(user__phone="070 123 45 67")  # so that the search lists, with few or many
    pages = {
        "member": lambda: at_till.get(member_url(mia)),
        "search": lambda: at_till.get(reverse("staff:till"), {"q": "070 123 45 67"}),
        "till": lambda: at_till.get(reverse("staff:till")),
    }
    few = {name: count_queries(page) for name, page in pages.items()}

    lots_of_history(mia, store, shop)
    MemberFactory.create_batch(30, user__phone="+46 70 123 45 67")  # more than a search lists
    StoreFactory.create_batch(10)
    lots = {name: count_queries(page) for name, page in pages.items()}
    assert lots == few

    for page in pages.values():
        with django_assert_max_num_queries(20):
            page()
    html = at_till.get(member_url(mia)).content.decode()
    assert html.count('name="refund-purchase"') == 1 and "L-59" in html and "L-0 ·" not in html
    assert len(find_members("070 123 45 67")) == 20


def test_till_actions_name_the_cashier(shop, store, customer, cashier, coffee):
    purchase, _ = services.record_purchase(store=store, member=customer, external_id="R-9",
                                           amount="300.00", actor=cashier)
    redemption = services.redeem_reward(member=customer, reward=coffee, actor=cashier)
    services.use_redemption(code=redemption.code, store=store, actor=cashier)
    services.refund_purchase(purchase=purchase, external_id="F-9", amount="10.00", actor=cashier)
    assert set(LedgerEntry.objects.values_list("actor", flat=True)) == {cashier.pk}
    assert sorted(StaffAction.objects.filter(actor=cashier).values_list("action", flat=True)) == [
        "programs.purchase.refunded", "programs.redemption.used"]
