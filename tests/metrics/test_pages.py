"""The metrics page, its CSV tables, the members list and a member's page, as staff meet them."""

import csv
import io

import pytest
from django.urls import reverse

from loyalty_site import dashboard

SEPTEMBER = {"start": "2026-09-01", "end": "2026-09-30"}


def _rows(response):
    text = b"".join(response.streaming_content if response.streaming else [response.content])
    return list(csv.reader(io.StringIO(text.decode("utf-8-sig"))))


@pytest.mark.parametrize(("name", "args"), [
    ("staff:metrics", []), ("staff:metrics_csv", []), ("staff:metric_csv", ["repurchase_rate"]),
    ("staff:members", []), ("staff:member", ["1234567890"]),
])
def test_cashiers_and_members_are_refused(client, cashier, member, name, args):
    url = reverse(name, args=args)
    client.force_login(cashier)
    assert client.get(url).status_code == 403
    client.force_login(member.user)
    assert client.get(url).status_code == 403
    client.logout()
    assert client.get(url)["Location"].startswith(reverse("staff:login"))


def test_cashier_sees_no_metrics_link_manager_does(client, cashier, manager):
    client.force_login(cashier)
    assert reverse("staff:metrics") not in client.get(reverse("staff:home")).content.decode()
    client.force_login(manager)
    assert reverse("staff:metrics") in client.get(reverse("staff:home")).content.decode()


def test_metrics_page_shows_each_figure_with_its_sample_and_comparison(
        client, manager, small_shop, no_minimum_samples, django_assert_max_num_queries):
    client.force_login(manager)
    with django_assert_max_num_queries(200):
        response = client.get(reverse("staff:metrics"), SEPTEMBER)
    assert response.status_code == 200
    page = response.content.decode()
    # Repurchase: 33.3 % of 3 customers, up 33.3 points on August's 0.0 %.
    assert "33.3 %" in page and "+33.3 pp" in page and "Sample: 3 customers" in page
    # Member sales 390 SEK, liability 53 SEK (numbers in the shop's currency).
    assert "SEK390.00" in page and "SEK53.00" in page
    assert "How is this computed?" in page
    assert 'id="dashboard-data"' in page


def test_numbers_follow_the_staff_members_language(client, manager, small_shop, no_minimum_samples):
    manager.language = "sv"
    manager.save()
    client.force_login(manager)
    page = client.get(reverse("staff:metrics"), SEPTEMBER).content.decode()
    assert "33,3 %" in page and "390,00\xa0kr" in page


def test_a_small_sample_says_not_enough_data(client, manager, small_shop):
    client.force_login(manager)
    page = client.get(reverse("staff:metrics"), SEPTEMBER).content.decode()
    # Three customers are fewer than the 20 a repurchase rate needs for a headline.
    assert "Not enough data" in page
    assert "33.3 %" not in page


def test_an_empty_shop_renders_without_dividing_by_zero(client, manager, django_assert_max_num_queries):
    client.force_login(manager)
    with django_assert_max_num_queries(200):
        response = client.get(reverse("staff:metrics"))
    assert response.status_code == 200
    assert "Not enough data" in response.content.decode()


def test_filters_apply_to_the_figures(client, manager, small_shop, main_store, club, no_minimum_samples):
    client.force_login(manager)
    page = client.get(reverse("staff:metrics"), {**SEPTEMBER, "store": main_store.pk}).content.decode()
    # At Main Street: sales 200 + 120 - 20 = 300, retention 100 %; points are for all stores.
    assert "SEK300.00" in page and "100.0 %" in page
    assert "All stores: points belong to the member" in page
    page = client.get(reverse("staff:metrics"), {**SEPTEMBER, "program": club.pk}).content.decode()
    # Club members Ann and Dee: repurchase 50 %.
    assert "50.0 %" in page


@pytest.mark.parametrize(("query", "message"), [
    ({"start": "2026-09-30", "end": "2026-09-01"}, "The period must end on or after its first day."),
    ({"start": "2020-01-01", "end": "2026-09-01"}, "Choose a period of at most three years."),
    ({"start": "yesterday", "end": "2026-09-01"}, "Enter a valid date."),
    ({**SEPTEMBER, "store": "999999"}, "Select a valid choice."),
])
def test_bad_filters_get_a_clear_message(client, manager, query, message):
    client.force_login(manager)
    response = client.get(reverse("staff:metrics"), query)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert client.get(reverse("staff:metrics_csv"), query).status_code == 400


def test_summary_csv_has_a_row_per_metric(client, manager, small_shop, no_minimum_samples):
    client.force_login(manager)
    rows = _rows(client.get(reverse("staff:metrics_csv"), SEPTEMBER))
    assert rows[0][:5] == ["metric", "label", "unit", "value", "sample"]
    by_key = {row[0]: row for row in rows[1:]}
    assert by_key["repurchase_rate"][3:7] == ["33.3", "3", "0.0", "3"]
    assert by_key["points_outstanding"][3] == "530"
    assert len(by_key) == len(dashboard.registered())


def test_summary_csv_leaves_out_values_below_their_minimum_sample(client, manager, small_shop):
    client.force_login(manager)
    by_key = {row[0]: row for row in _rows(client.get(reverse("staff:metrics_csv"), SEPTEMBER))[1:]}
    assert by_key["repurchase_rate"][3:5] == ["", "3"]


def test_series_csv(client, manager, small_shop):
    client.force_login(manager)
    rows = _rows(client.get(reverse("staff:metric_csv", args=["repurchase_rate"]), SEPTEMBER))
    assert rows[0] == ["week_starting", "bucket", "repurchase_rate", "sample"]
    assert ["2026-08-31", "week", "0.0", "2"] in rows
    assert len(rows) == 13
    assert client.get(reverse("staff:metric_csv", args=["nothing"]), SEPTEMBER).status_code == 404


def test_figures_are_cached_and_say_when_computed(client, manager, small_shop, no_minimum_samples,
                                                   django_assert_max_num_queries):
    client.force_login(manager)
    client.get(reverse("staff:metrics"), SEPTEMBER)
    # Warm: only the session, the user and the filter's choices (store, program, tier, segment).
    with django_assert_max_num_queries(10):
        page = client.get(reverse("staff:metrics"), SEPTEMBER).content.decode()
    assert "recomputed every 5 minutes" in page


def test_members_list_searches_and_sorts(client, manager, small_shop, django_assert_max_num_queries):
    client.force_login(manager)
    with django_assert_max_num_queries(8):
        page = client.get(reverse("staff:members"), {"sort": "name"}).content.decode()
    names = [page.index(name) for name in ("Ann", "Ben", "Cid", "Dee", "Eve")]
    assert names == sorted(names)
    assert "5 members" in page
    ann = small_shop["ann"]
    for query in ["ann@example", "ANN", ann.number[:6], ann.display_number]:
        page = client.get(reverse("staff:members"), {"q": query}).content.decode()
        assert "1 member" in page and ann.user.email in page, query
    page = client.get(reverse("staff:members"), {"q": "nobody-like-this"}).content.decode()
    assert "No member matches that search." in page


def test_members_list_finds_a_phone_number(client, manager, small_shop):
    ben = small_shop["ben"].user
    ben.phone = "+46 70 123 45 67"
    ben.save()
    client.force_login(manager)
    page = client.get(reverse("staff:members"), {"q": "070-123 45 67"}).content.decode()
    assert "1 member" in page and "ben@example.com" in page


def test_members_list_pages_hold_fifty(client, manager, django_assert_max_num_queries):
    from ..factories import MemberFactory

    MemberFactory.create_batch(51)
    client.force_login(manager)
    with django_assert_max_num_queries(8):
        page = client.get(reverse("staff:members"), {"page": 2}).content.decode()
    assert "Page 2 of 2" in page


def test_member_page_shows_balances_purchases_history_and_rewards(
        client, manager, small_shop, django_assert_max_num_queries):
    ann = small_shop["ann"]
    client.force_login(manager)
    with django_assert_max_num_queries(20):
        response = client.get(reverse("staff:member", args=[ann.number]))
    page = response.content.decode()
    # Balance 100 + 200 + 50 - 100 = 250; three receipts; the coffee.
    assert 'data-testid="balance-points">250<' in page
    for receipt in ("A1", "A2", "A3"):
        assert receipt in page
    assert "Reward: Coffee" in page and "Coffee" in page
    assert client.get(reverse("staff:member", args=["0000000000"])).status_code == 404


def test_member_page_queries_do_not_grow_with_history(client, manager, small_shop,
                                                      django_assert_max_num_queries):
    from decimal import Decimal

    from programs import services

    ann = small_shop["ann"]
    store = small_shop["ann"].joined_store
    for n in range(30):
        services.record_purchase(store=store, member=ann, external_id=f"X{n}", amount=Decimal("5"))
    client.force_login(manager)
    with django_assert_max_num_queries(20):
        client.get(reverse("staff:member", args=[ann.number]))


def test_member_page_shows_registered_panels(client, manager, small_shop):
    seen = []
    dashboard.register_member_panel(dashboard.MemberPanel(
        key="test", title="Tier changes", template="includes/messages.html",
        context=lambda member: seen.append(member) or {}))
    try:
        client.force_login(manager)
        page = client.get(reverse("staff:member", args=[small_shop["ann"].number])).content.decode()
    finally:
        del dashboard._MEMBER_PANELS["test"]
    assert "Tier changes" in page and seen == [small_shop["ann"]]


def test_member_page_pages_the_points_history(client, manager, small_shop):
    from decimal import Decimal

    from programs import services

    from ..metrics.conftest import at

    ann = small_shop["ann"]
    # Ann has four entries (three purchases, the coffee); 20 more make 24: a second page of 4.
    for n in range(20):
        services.record_purchase(store=ann.joined_store, member=ann, external_id=f"H{n}",
                                 amount=Decimal("5"), now=at(2026, 10, 1 + n))
    client.force_login(manager)
    url = reverse("staff:member", args=[ann.number])
    first = client.get(url).content.decode()
    assert "receipt H19" in first and "receipt A1" not in first and "?history=2" in first
    second = client.get(url, {"history": 2}).content.decode()
    assert "receipt A1" in second and "receipt H19" not in second and "?history=3" not in second
    assert client.get(url, {"history": "x"}).status_code == 200
