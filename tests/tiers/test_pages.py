"""Tiers where people meet them: the portal's tier card and rewards, the till, the API."""

import pytest
from django.urls import reverse

from programs.models import Reward
from programs.services import PointsError, redeem_reward

from ..factories import MemberFactory


@pytest.fixture
def gold_lounge(shop, tiers):
    return Reward.objects.create(program=shop, name="Lounge evening", kind=Reward.Kind.EXPERIENCE,
                                 cost=100, minimum_tier=tiers[2])


def test_a_tier_only_reward_is_refused_below_its_tier_and_given_at_it(shop, tiers, customer, buy,
                                                                       gold_lounge):
    buy(customer, "999")
    with pytest.raises(PointsError) as refused:
        redeem_reward(member=customer, reward=gold_lounge)
    assert refused.value.message_dict == {"reward": ["This reward is for Gold members and above."]}
    assert customer.memberships.get().balance == 999 + 0
    buy(customer, "1")
    assert redeem_reward(member=customer, reward=gold_lounge).points == 100


def test_portal_home_shows_the_tier_card_with_progress_and_what_the_next_tier_unlocks(
        client, shop, tiers, customer, buy, gold_lounge):
    buy(customer, "600")  # Silver, 600 of 1000 towards Gold
    client.force_login(customer.user)
    page = client.get("/").content.decode()
    assert "Silver member" in page
    assert "1.25× points on every purchase" in page
    assert "Free delivery" in page
    assert "400 points to Gold" in page
    assert 'value="60"' in page
    assert "What Gold unlocks" in page and "Early access to sales" in page
    assert "Lounge evening" in page


def test_portal_rewards_show_the_tier_a_reward_needs(client, shop, tiers, customer, buy, gold_lounge):
    buy(customer, "600")
    client.force_login(customer.user)
    page = client.get(reverse("portal:rewards")).content.decode()
    assert "For Gold members and above" in page
    assert "Reach Gold to redeem this reward." in page
    assert reverse("portal:redeem", args=[gold_lounge.pk]) not in page


def test_the_top_tier_says_so(client, shop, tiers, customer, buy):
    buy(customer, "1000")
    client.force_login(customer.user)
    assert "You are in our highest tier." in client.get("/").content.decode()


def test_the_till_shows_the_tier_and_its_perks(client, cashier, shop, tiers, customer, buy):
    buy(customer, "1000")
    client.force_login(cashier)
    page = client.get(reverse("staff:till_member", args=[customer.number])).content.decode()
    assert 'data-testid="tier-points"' in page
    assert "Gold" in page and "Perks: Early access to sales" in page


def test_the_api_answers_the_members_tier(shop, tiers, customer, buy, store):
    from rest_framework.test import APIClient

    from programs.services import create_api_key

    buy(customer, "500")
    _key, secret = create_api_key(store=store, name="till")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    body = api.get(f"/api/v1/members/{customer.number}").json()
    assert body["programs"][0]["tier"] == "Silver"
    other = MemberFactory()
    assert api.get(f"/api/v1/members/{other.number}").json()["programs"][0]["tier"] is None


def test_portal_home_and_till_need_the_same_queries_whatever_the_history(
        client, cashier, shop, tiers, customer, buy, gold_lounge, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    buy(customer, "100")
    client.force_login(customer.user)

    def count(url):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    till = reverse("staff:till_member", args=[customer.number])
    few = count("/")
    for _n in range(30):
        buy(customer, "50")
    with django_assert_max_num_queries(few):
        client.get("/")
    client.force_login(cashier)
    with django_assert_max_num_queries(20):
        client.get(till)
