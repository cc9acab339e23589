"""The member portal's points pages as a member meets them: balance, history, rewards, codes,
the card; each scoped to the member, each with a number of queries that does not grow."""

import io
from datetime import timedelta

import pytest
from dateutil.relativedelta import relativedelta
from django.db import connection
from django.template.defaultfilters import date as date_filter
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from programs import services
from programs.models import LedgerEntry, Membership, Program, Redemption, Reward
from programs.money import format_money

from ..factories import UserFactory

pytestmark = pytest.mark.django_db

PAGES = ["portal:home", "portal:points", "portal:rewards", "portal:codes", "portal:card",
         "portal:card_png"]

# Queries per page, whatever the data: session, user and member card (3) and what the page reads.
# The home page reads the balances, pending and expiring points and affordable rewards in seven,
# counts the codes ready to use, and looks for tiers (tests/tiers/ counts the tier card's own).
MAX_QUERIES = {"portal:home": 12, "portal:points": 6, "portal:rewards": 7, "portal:codes": 5,
               "portal:card": 3, "portal:card_png": 3, "portal:code": 4, "portal:redeem": 6}


def buy(store, member, amount, receipt="R-1", **kwargs):
    return services.record_purchase(store=store, member=member, external_id=receipt,
                                    amount=amount, **kwargs)[0]


def balance(member, program):
    return Membership.objects.get(member=member, program=program).balance


def local_date(moment):
    return date_filter(timezone.localtime(moment), "DATE_FORMAT")


def page(client, name, *args, **params):
    response = client.get(reverse(name, args=args), params)
    assert response.status_code == 200, (name, response.status_code)
    return response.content.decode()


@pytest.fixture
def signed_in(client, member):
    client.force_login(member.user)
    return client


# --- Home -------------------------------------------------------------------------------------


def test_home_shows_available_pending_and_soonest_expiring_points(signed_in, shop, store, member):
    shop.pending_days = 14
    shop.save()
    now = timezone.now()
    buy(store, member, "200.00", receipt="old", now=now - timedelta(days=340))
    services.release_pending_points(now=now)  # as the nightly task did long ago
    buy(store, member, "150.00", receipt="new", now=now)

    html = page(signed_in, "portal:home")

    assert "<strong>200</strong> points to spend" in html
    available_on = local_date(now + timedelta(days=14))
    assert f"150 points pending, available from {available_on}" in html
    expires_on = local_date(now - timedelta(days=340) + relativedelta(months=12))
    assert f"200 points expire on {expires_on}" in html
    assert member.display_number in html
    for name in ["portal:card", "portal:rewards", "portal:codes", "portal:points"]:
        assert f'href="{reverse(name)}"' in html


def test_home_says_how_many_rewards_and_codes_are_waiting(signed_in, shop, store, member, coffee):
    buy(store, member, "250.00")
    services.redeem_reward(member=member, reward=coffee)
    html = page(signed_in, "portal:home")
    assert "1 you can get now" in html  # 150 left: coffee again, not more
    assert "1 ready to use" in html


# --- Points history ---------------------------------------------------------------------------


def test_history_gives_the_cause_of_every_entry(signed_in, shop, store, member, coffee, manager):
    now = timezone.now()
    buy(store, member, "120.00", receipt="R-0", now=now - timedelta(days=400))
    services.expire_points(now=now)
    purchase = buy(store, member, "250.00", receipt="R-1")
    redemption = services.redeem_reward(member=member, reward=coffee)
    services.cancel_redemption(redemption=redemption, actor=manager)
    services.redeem_reward(member=member, reward=coffee)
    services.refund_purchase(purchase=purchase, external_id="F-1", amount="50.00")
    services.adjust_points(member=member, program=shop, points=25, reason="Broken cup",
                           actor=manager)
    services.pay_with_points(member=member, program=shop, points=10, store=store)

    html = page(signed_in, "portal:points")

    for cause in ["Purchase at Main Street, receipt R-1", "Purchase at Main Street, receipt R-0",
                  "Reward: Coffee", "Reward cancelled, points returned: Coffee", "Expired",
                  "Refund at Main Street, receipt R-1", "Adjusted by staff: Broken cup",
                  "Paid with points at Main Street"]:
        assert f"<strong>{cause}</strong>" in html, cause
    assert "+250" in html and "-100" in html and "-50" in html
    assert "250,00" in html or "250.00" in html  # the purchase's amount, in the money filter
    assert html.index("Paid with points") < html.index("Purchase at Main Street, receipt R-1")
    assert f"balance {balance(member, shop)}" in html


def test_history_shows_pending_points_and_when_they_become_available(signed_in, shop, store,
                                                                      member):
    shop.pending_days = 14
    shop.save()
    buy(store, member, "80.00")
    html = page(signed_in, "portal:points")
    assert f"pending, available from {local_date(timezone.now() + timedelta(days=14))}" in html


def test_history_is_paginated_newest_first(signed_in, shop, store, member):
    start = timezone.now() - timedelta(days=40)
    for day in range(30):
        buy(store, member, "10.00", receipt=f"R-{day}", now=start + timedelta(days=day))

    first = page(signed_in, "portal:points")
    second = page(signed_in, "portal:points", page=2)

    assert first.count('class="ledger-entry"') == 25 and second.count('class="ledger-entry"') == 5
    assert "receipt R-29<" in first and "receipt R-0<" in second and "receipt R-0<" not in first
    assert "Page 1 of 2" in first and "Older" in first


def test_history_in_swedish_groups_amounts_and_points_as_swedes_read_them(signed_in, shop, store,
                                                                          member):
    member.user.language = "sv"  # the account's choice wins over the browser's
    member.user.save()
    buy(store, member, "1234.00")
    html = page(signed_in, "portal:points")
    assert "+1\xa0234" in html  # points, grouped with a no-break space
    assert "1\xa0234,00\xa0kr" in html  # the money filter


def test_history_of_a_member_without_points_invites_them_to_shop(signed_in, shop):
    assert "No points yet" in page(signed_in, "portal:points")


def test_history_filters_by_program_when_the_member_has_several(signed_in, shop, store, member):
    card = Program.objects.create(name="Coffee card", slug="coffee-card", kind=Program.Kind.VISITS)
    services.change_earning_rule(program=card, actor=None, points_per_visit=1,
                                 effective_from=timezone.now() - timedelta(days=1))
    buy(store, member, "50.00")
    html = page(signed_in, "portal:points", program="coffee-card")
    assert "All programs" in html
    assert html.count('class="ledger-entry"') == 1 and "+1<" in html


# --- Rewards and redeeming --------------------------------------------------------------------


@pytest.fixture
def catalog(shop, coffee):
    now = timezone.now()
    return {
        "coffee": coffee,
        "cake": Reward.objects.create(program=shop, name="Cake", kind=Reward.Kind.FREE_PRODUCT,
                                      cost=180, stock=3, valid_until=now + timedelta(days=20)),
        "mug": Reward.objects.create(program=shop, name="Mug", kind=Reward.Kind.FREE_PRODUCT,
                                     cost=50, stock=0),
        "discount": Reward.objects.create(program=shop, name="Fifty off",
                                          kind=Reward.Kind.FIXED_DISCOUNT, value=50, cost=120),
        "hidden": Reward.objects.create(program=shop, name="Retired", kind=Reward.Kind.EXPERIENCE,
                                        cost=10, is_active=False),
        "later": Reward.objects.create(program=shop, name="Summer", kind=Reward.Kind.EXPERIENCE,
                                       cost=10, valid_from=now + timedelta(days=30)),
    }


def reward_block(html, reward):
    start = html.index(f'data-testid="reward-{reward.pk}"')
    return html[html.rindex("<li", 0, start):html.index("</li>", start)]


def test_catalog_highlights_what_the_member_can_afford(signed_in, shop, store, member, catalog):
    buy(store, member, "140.00")
    html = page(signed_in, "portal:rewards")

    assert "<strong>140</strong> points to spend" in html
    coffee = reward_block(html, catalog["coffee"])
    assert "reward-affordable" in coffee
    assert reverse("portal:redeem", args=[catalog["coffee"].pk]) in coffee
    discount = reward_block(html, catalog["discount"])
    assert "reward-affordable" in discount and f"{format_money(50, language='en')} off" in discount
    cake = reward_block(html, catalog["cake"])
    assert "reward-affordable" not in cake and "40 more points" in cake
    assert "3 left" in cake and f"Until {local_date(catalog['cake'].valid_until)}" in cake
    assert 'value="77"' in cake  # 140 of 180 points
    assert reverse("portal:redeem", args=[catalog["cake"].pk]) not in cake
    mug = reward_block(html, catalog["mug"])
    assert "Out of stock" in mug and "reward-affordable" not in mug
    assert "Retired" not in html and "Summer" not in html


def test_redeeming_asks_first_then_spends_and_shows_the_code(signed_in, shop, store, member, coffee):
    buy(store, member, "140.00")
    url = reverse("portal:redeem", args=[coffee.pk])

    confirm = page(signed_in, "portal:redeem", coffee.pk)
    assert "Redeem Coffee?" in confirm and "Redeem for 100 points" in confirm
    assert "Left after" in confirm and ">40<" in confirm
    assert Redemption.objects.count() == 0  # asking writes nothing

    response = signed_in.post(url, follow=True)

    redemption = Redemption.objects.get()
    assert redemption.membership.member == member and redemption.reward == coffee
    assert balance(member, shop) == 40
    assert LedgerEntry.objects.filter(kind="redeem", redemption=redemption, points=-100).exists()
    assert response.redirect_chain == [(reverse("portal:code", args=[redemption.pk]), 302)]
    html = response.content.decode()
    assert "Show this code at the till" in html
    assert redemption.display_code in html and '<svg role="img"' in html


def test_redeeming_with_too_few_points_says_so_and_writes_nothing(signed_in, shop, store, member,
                                                                   coffee):
    buy(store, member, "40.00")
    entries = LedgerEntry.objects.count()

    confirm = page(signed_in, "portal:redeem", coffee.pk)
    assert "You need 60 more points for this reward." in confirm
    assert "Redeem for" not in confirm  # no button to press

    response = signed_in.post(reverse("portal:redeem", args=[coffee.pk]))

    assert response.status_code == 400
    assert "You have 40 points available; this reward needs 100." in response.content.decode()
    assert Redemption.objects.count() == 0
    assert LedgerEntry.objects.count() == entries and balance(member, shop) == 40


def test_an_out_of_stock_reward_cannot_be_redeemed(signed_in, shop, store, member, catalog):
    buy(store, member, "500.00")
    response = signed_in.post(reverse("portal:redeem", args=[catalog["mug"].pk]))
    assert response.status_code == 400 and "out of stock" in response.content.decode()
    assert Redemption.objects.count() == 0 and balance(member, shop) == 500


@pytest.mark.parametrize("name", ["hidden", "later"])
def test_a_reward_the_member_cannot_see_is_not_found(signed_in, shop, store, member, catalog, name):
    buy(store, member, "500.00")
    url = reverse("portal:redeem", args=[catalog[name].pk])
    assert signed_in.get(url).status_code == 404
    assert signed_in.post(url).status_code == 404
    assert Redemption.objects.count() == 0


# --- Codes ------------------------------------------------------------------------------------


def test_codes_show_ready_ones_large_and_the_rest_below(signed_in, shop, store, member, coffee,
                                                        manager):
    now = timezone.now()
    buy(store, member, "1000.00")
    ready = services.redeem_reward(member=member, reward=coffee)
    used = services.redeem_reward(member=member, reward=coffee)
    services.use_redemption(code=used.code, store=store)
    cancelled = services.redeem_reward(member=member, reward=coffee)
    services.cancel_redemption(redemption=cancelled, actor=manager)
    expired = services.redeem_reward(member=member, reward=coffee, now=now - timedelta(days=40))

    html = page(signed_in, "portal:codes")

    ready_part, past_part = html.split("Used, cancelled and expired")
    assert ready.display_code in ready_part and "Ready to use" in ready_part
    assert ready_part.count('<svg role="img"') == 1
    assert f"Valid until {local_date(ready.expires_at)}" in ready_part
    for other in [used, cancelled, expired]:
        assert other.display_code not in ready_part and other.display_code in past_part
    assert f"Used on {local_date(now)} at Main Street" in past_part
    assert "Cancelled, points returned" in past_part
    assert f"Expired on {local_date(expired.expires_at)}" in past_part


def test_a_code_page_shows_the_code_large_with_its_qr(signed_in, shop, store, member, coffee):
    buy(store, member, "100.00")
    redemption = services.redeem_reward(member=member, reward=coffee)
    html = page(signed_in, "portal:code", redemption.pk)
    assert f'data-testid="redemption-code">{redemption.display_code}<' in html
    assert '<svg role="img"' in html and 'class="qr"' in html


def test_a_member_without_codes_is_sent_to_the_rewards(signed_in, shop):
    html = page(signed_in, "portal:codes")
    assert "You have no codes ready to use" in html and reverse("portal:rewards") in html


def test_another_members_code_is_not_found_like_a_missing_one(signed_in, shop, store, customer,
                                                              coffee):
    buy(store, customer, "100.00")
    theirs = services.redeem_reward(member=customer, reward=coffee)

    mine = signed_in.get(reverse("portal:code", args=[theirs.pk]))
    missing = signed_in.get(reverse("portal:code", args=[theirs.pk + 1000]))

    assert mine.status_code == missing.status_code == 404
    assert theirs.display_code not in mine.content.decode()
    assert theirs.display_code not in page(signed_in, "portal:codes")
    assert "Coffee" not in page(signed_in, "portal:points")


# --- The card ---------------------------------------------------------------------------------


def test_card_page_shows_the_number_big_with_a_qr_code(signed_in, member):
    html = page(signed_in, "portal:card")
    assert f'data-testid="member-number">{member.display_number}<' in html
    assert '<svg role="img" viewBox=' in html
    assert "<title>QR code of your member number, for the till's scanner</title>" in html
    assert reverse("portal:card_png") in html and "Add to Home Screen" in html


def test_card_image_is_a_png_to_download(signed_in, member):
    response = signed_in.get(reverse("portal:card_png"))
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert response["Content-Disposition"] == f'attachment; filename="member-card-{member.number}.png"'
    assert "private" in response["Cache-Control"]
    image = Image.open(io.BytesIO(response.content))
    assert image.format == "PNG" and image.size == (720, 1080)


# --- Who may open the pages -------------------------------------------------------------------


@pytest.mark.parametrize("name", PAGES[1:])
def test_pages_ask_a_visitor_to_sign_in(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and response["Location"].startswith(reverse("account_login"))


@pytest.mark.parametrize("name", PAGES[1:])
def test_a_person_without_a_member_card_gets_a_friendly_page(client, name):
    client.force_login(UserFactory())
    response = client.get(reverse(name))
    assert response.status_code == 403
    assert "Your account has no member card yet" in response.content.decode()


def test_staff_without_a_member_card_are_sent_to_the_dashboard(client, manager):
    client.force_login(manager)
    response = client.get(reverse("portal:rewards"))
    assert response.status_code == 403 and reverse("staff:home") in response.content.decode()


def test_redeeming_needs_a_post_to_spend(signed_in, shop, store, member, coffee):
    buy(store, member, "100.00")
    signed_in.get(reverse("portal:redeem", args=[coffee.pk]))
    assert signed_in.put(reverse("portal:redeem", args=[coffee.pk])).status_code == 405
    assert Redemption.objects.count() == 0 and balance(member, shop) == 100


# --- Queries ----------------------------------------------------------------------------------


def count_queries(client, url):
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url).status_code == 200, url
    return len(queries)


def fill(shop, store, member, coffee, manager):
    """30 ledger entries of every kind, a second program, several rewards and codes."""
    now = timezone.now()
    card = Program.objects.create(name="Coffee card", slug="coffee-card", kind=Program.Kind.VISITS)
    services.change_earning_rule(program=card, actor=None, points_per_visit=1,
                                 effective_from=now - timedelta(days=400))
    for n in range(8):
        Reward.objects.create(program=shop, name=f"Reward {n}", kind=Reward.Kind.FREE_PRODUCT,
                              cost=50 * (n + 1), stock=n, valid_until=now + timedelta(days=30))
    Reward.objects.create(program=card, name="Free coffee", kind=Reward.Kind.FREE_PRODUCT, cost=5)
    for n in range(10):
        buy(store, member, "300.00", receipt=f"Q-{n}", now=now - timedelta(days=370 - n))
    services.expire_points(now=now)
    buy(store, member, "2000.00", receipt="big")
    for n in range(3):
        redemption = services.redeem_reward(member=member, reward=coffee)
        if n == 1:
            services.use_redemption(code=redemption.code, store=store)
        if n == 2:
            services.cancel_redemption(redemption=redemption, actor=manager)
    services.adjust_points(member=member, program=shop, points=10, reason="Sorry", actor=manager)
    services.refund_purchase(purchase=buy(store, member, "100.00", receipt="back"),
                             external_id="F", amount="100.00")
    assert LedgerEntry.objects.filter(membership__member=member).count() >= 30
    return Redemption.objects.filter(membership__member=member).first()


def test_every_page_does_the_same_few_queries_whatever_the_data(
    signed_in, shop, store, member, coffee, manager, django_assert_max_num_queries
):
    # The code page and the redeem page need an object; count them with the smallest data too:
    # one purchase, one code, points left that expire.
    buy(store, member, "150.00", receipt="first")
    first_code = services.redeem_reward(member=member, reward=coffee)
    urls = {reverse(name): name for name in PAGES}
    urls[reverse("portal:code", args=[first_code.pk])] = "portal:code"
    urls[reverse("portal:redeem", args=[coffee.pk])] = "portal:redeem"
    urls[reverse("portal:points") + "?page=2"] = "portal:points"
    few = {url: count_queries(signed_in, url) for url in urls}

    fill(shop, store, member, coffee, manager)

    for url, name in urls.items():
        with django_assert_max_num_queries(MAX_QUERIES[name]):
            many = count_queries(signed_in, url)
        assert many <= few[url], (url, few[url], many)
