"""Regression: a NUL character (%00) in an address used to reach PostgreSQL, which cannot store
it, and answer 500 — on the API's refund and code URLs (found by fuzzing) and on the till's and
the members list's pages. Now every such address answers 404 and nothing is written."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from programs import services
from programs.models import Purchase, Redemption, Refund

from ..factories import MemberFactory
from .urls import every_named_pattern, sample_arguments

pytestmark = pytest.mark.django_db


def with_text_arguments():
    """Every URL whose arguments include free text (str or path), with NUL in each of them."""
    for name, pattern in every_named_pattern():
        converters = pattern.pattern.converters
        text = [n for n, c in converters.items() if c.regex in {"[^/]+", ".+"}]
        if text and not name.startswith("admin:"):
            yield name, reverse(name, kwargs={**sample_arguments(pattern), **{n: "A\x00B" for n in text}})


URLS = sorted(with_text_arguments())


@pytest.fixture
def api(store):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {services.create_api_key(store=store)[1]}")
    return client


def test_the_api_answers_404_in_json(api, shop, store, coffee):
    member = MemberFactory()
    purchase, _ = services.record_purchase(store=store, member=member, external_id="R1", amount="500")
    services.redeem_reward(member=member, reward=coffee)
    for url in ["/api/v1/redemptions/AB%00CD/use", "/api/v1/purchases/R%001/refunds"]:
        response = api.post(url, {"external_id": "RF1", "amount": "1.00"}, format="json")
        assert response.status_code == 404, url
        assert "detail" in response.json()
    assert not Refund.objects.exists()
    assert Redemption.objects.get().status == Redemption.Status.ISSUED
    assert Purchase.objects.get() == purchase


def test_there_are_urls_with_text_to_check():
    assert {"api:use_redemption", "api:refunds", "staff:till_member", "staff:member"} <= dict(URLS).keys()


@pytest.mark.parametrize(("name", "url"), URLS, ids=[name for name, _url in URLS])
def test_every_url_with_text_in_it_answers_404(client, manager, name, url):
    MemberFactory(user=manager)
    client.force_login(manager)
    assert client.get(url).status_code in (404, 405)
    assert client.post(url).status_code in (404, 405)


def test_a_query_string_with_nul_answers_404(client, manager):
    client.force_login(manager)
    assert client.get(reverse("staff:members"), {"q": "\x00"}).status_code == 404
