"""Managers download members and the ledger as CSV; cashiers cannot; every download is logged."""

import csv
import io

import pytest
from django.urls import reverse

from loyalty_site.models import StaffAction
from programs import services

pytestmark = pytest.mark.django_db


def read_csv(response):
    text = b"".join(response.streaming_content).decode("utf-8").lstrip("\ufeff")
    return list(csv.reader(io.StringIO(text)))


@pytest.fixture
def history(shop, store, customer, coffee, cashier):
    services.record_purchase(store=store, member=customer, external_id="R-1", amount="250.00",
                             actor=cashier)
    services.redeem_reward(member=customer, reward=coffee)
    services.adjust_points(member=customer, program=shop, points=-5, reason="Broken mug",
                           actor=cashier)
    return customer


def test_a_manager_downloads_members_with_their_balances(client, manager, history):
    client.force_login(manager)
    response = client.get(reverse("staff:export_members"))
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    header, *rows = read_csv(response)
    assert header[:3] == ["member_number", "email", "name"]
    row = next(r for r in rows if r[0] == history.number)
    assert row[1] == history.user.email and row[5] == "points" and row[6] == "145"
    assert StaffAction.objects.get(action="programs.members.exported").actor == manager


def test_the_ledger_export_names_each_cause(client, manager, history, cashier):
    client.force_login(manager)
    header, *rows = read_csv(client.get(reverse("staff:export_ledger")))
    by_kind = {row[header.index("kind")]: row for row in rows}
    assert by_kind["earn"][header.index("receipt")] == "R-1"
    assert by_kind["earn"][header.index("store")] == "main"
    assert by_kind["redeem"][header.index("reward_code")]
    assert by_kind["adjust"][header.index("reason")] == "Broken mug"
    assert by_kind["adjust"][header.index("staff")] == cashier.email
    assert [row[header.index("points")] for row in rows] == ["250", "-100", "-5"]


def test_a_ledger_period_with_the_days_the_wrong_way_round_is_refused(client, manager):
    client.force_login(manager)
    response = client.get(reverse("staff:export_ledger"), {"since": "2026-02-01", "until": "2026-01-01"})
    assert response.status_code == 400
    assert "must come before" in response.content.decode()
    assert not StaffAction.objects.exists()


def test_an_empty_period_gives_just_the_header(client, manager, history):
    client.force_login(manager)
    period = {"since": "2000-01-01", "until": "2000-01-02"}
    rows = read_csv(client.get(reverse("staff:export_ledger"), period))
    assert len(rows) == 1


@pytest.mark.parametrize("name", ["staff:exports", "staff:export_members", "staff:export_ledger"])
def test_cashiers_cannot_export(client, cashier, name):
    client.force_login(cashier)
    assert client.get(reverse(name)).status_code == 403


def test_exports_take_a_bounded_number_of_queries(client, manager, history, django_assert_max_num_queries):
    client.force_login(manager)
    for name in ["staff:exports", "staff:export_members", "staff:export_ledger"]:
        with django_assert_max_num_queries(12):
            response = client.get(reverse(name))
            if hasattr(response, "streaming_content"):
                read_csv(response)
