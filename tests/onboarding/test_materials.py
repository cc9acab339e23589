"""Counter materials and printed member cards, in the shop's languages."""

from decimal import Decimal

import pytest
from django.urls import reverse

from programs.models import Member
from programs.program_templates import add_stores, create_program_from_template
from programs.services import change_earning_rule

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(settings):
    settings.SITE_URL = "https://club.example.com"
    store = add_stores(names=["Main Street"])[0]
    program, _created = create_program_from_template(template="tiered", name="Club", actor=None)
    return program, store


@pytest.mark.parametrize(("language", "words"), [
    ("pl", ["Nagrody", "100 punktów", "Brązowy", "Złoty", "Punkty za każde zakupy"]),
    ("ja", ["特典", "100 ポイント", "ブロンズ", "ゴールド", "毎回のお買い物でポイント"]),
])
@pytest.mark.parametrize("page", ["staff:materials_poster", "staff:materials_table_tent"])
def test_materials_show_the_sign_up_qr_and_the_rules_in_the_chosen_language(
        client, manager, shop, language, words, page, django_assert_max_num_queries):
    program, store = shop
    client.force_login(manager)
    with django_assert_max_num_queries(12):
        response = client.get(reverse(page), {"program": program.pk, "store": store.pk,
                                              "language": language})
    assert response.status_code == 200
    text = response.text
    assert f'<html lang="{language}">' in text
    assert '<svg role="img"' in text and 'class="qr"' in text
    assert "https://club.example.com/accounts/signup/?store=main-street" in text
    # The earning rule, rewards and tiers, in the catalogues' words.
    assert all(word in text for word in words)
    assert 'class="staff-nav"' not in text


def test_the_materials_page_offers_the_shops_languages_and_links_each_print(
        client, manager, shop, django_assert_max_num_queries):
    client.force_login(manager)
    with django_assert_max_num_queries(15):
        response = client.get(reverse("staff:materials"))
    assert response.status_code == 200
    assert reverse("staff:materials_poster") in response.text
    assert reverse("staff:materials_table_tent") in response.text


def test_bad_choices_find_nothing_and_cashiers_cannot_print_posters(client, manager, cashier, shop):
    client.force_login(manager)
    assert client.get(reverse("staff:materials_poster"), {"language": "xx"}).status_code == 404
    client.force_login(cashier)
    assert client.get(reverse("staff:materials_poster")).status_code == 403


def test_a_member_prints_their_own_card_and_staff_print_a_members_card(
        client, member, cashier, django_assert_max_num_queries):
    client.force_login(member.user)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("portal:card_print"))
    assert response.status_code == 200
    assert member.display_number in response.text and '<svg role="img"' in response.text
    client.force_login(cashier)
    response = client.get(reverse("staff:member_card", args=[member.number]))
    assert response.status_code == 200 and "Mia Member" in response.text
    assert client.get(reverse("staff:member_card", args=["0000000000"])).status_code == 404


def test_signing_up_through_a_posters_qr_code_records_the_store(client, shop):
    _program, store = shop
    signup = client.get(reverse("account_signup"), {"store": "main-street"})
    assert '<input type="hidden" name="store" value="main-street">' in signup.text
    client.post(reverse("account_signup"), {
        "email": "walk-in@example.com", "password1": "a-long-Passphrase-42",
        "password2": "a-long-Passphrase-42", "store": "main-street"})
    assert Member.objects.get(user__email="walk-in@example.com").joined_store == store


def test_a_stamp_card_poster_gives_the_minimum_purchase(client, manager):
    program, _created = create_program_from_template(template="stamps", name="Coffee card",
                                                     actor=None)
    change_earning_rule(program=program, actor=None, points_per_visit=2, minimum_amount=Decimal("30"))
    client.force_login(manager)
    response = client.get(reverse("staff:materials_poster"), {"program": program.pk, "language": "en"})
    assert "2 stamps for every visit of €30.00 or more." in response.text
