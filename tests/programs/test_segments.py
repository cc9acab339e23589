"""Segments: who matches each filter, worked out on a small shop written by hand, and the pages."""

from datetime import date, datetime
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from programs import services
from programs.forms import SegmentForm
from programs.models import Program, Segment, Tier
from programs.segments import segment_members

from ..factories import MemberFactory, StoreFactory

pytestmark = pytest.mark.django_db


def at(day, hour=12):
    return timezone.make_aware(datetime.combine(day, datetime.min.time()).replace(hour=hour))


@pytest.fixture
def town(shop, store):
    """Four customers of a SEK shop with 1 point per krona, written out by hand:

    anna:  bought 300 at Main Street on 10 Jan 2026 and 200 on 1 Mar 2026, refunded 100 of
           the second; balance 400.
    bo:    bought 1000 at the Airport on 15 Feb 2026; balance 1000.
    cecil: bought 50 at Main Street on 20 Dec 2025; balance 50.
    dana:  never bought anything; balance 0.
    """
    airport = StoreFactory(code="airport", name="Airport")
    people = {name: MemberFactory(user__name=name.title()) for name in ("anna", "bo", "cecil", "dana")}
    now = at(date(2026, 3, 15))

    def buy(name, receipt, amount, day, where=store):
        return services.record_purchase(store=where, member=people[name], external_id=receipt,
                                        amount=amount, occurred_at=at(day), now=now)[0]

    buy("anna", "A1", "300.00", date(2026, 1, 10))
    second = buy("anna", "A2", "200.00", date(2026, 3, 1))
    services.refund_purchase(purchase=second, external_id="A2-R", amount="100.00", now=now)
    buy("bo", "B1", "1000.00", date(2026, 2, 15), where=airport)
    buy("cecil", "C1", "50.00", date(2025, 12, 20))
    return people, airport


def names(segment, **kwargs):
    return sorted(m.user.name for m in segment_members(segment, **kwargs).select_related("user"))


def test_no_filter_is_everyone(town):
    assert names(Segment(name="All")) == ["Anna", "Bo", "Cecil", "Dana"]


def test_last_purchase_before_finds_lapsed_customers_not_people_who_never_came(town):
    assert names(Segment(name="Lapsed", last_purchase_before=date(2026, 1, 1))) == ["Cecil"]
    # The day itself is not "before" it: Bo's last purchase was on 15 February.
    assert names(Segment(name="x", last_purchase_before=date(2026, 2, 15))) == ["Cecil"]
    assert names(Segment(name="x", last_purchase_before=date(2026, 2, 16))) == ["Bo", "Cecil"]


def test_last_purchase_after_counts_the_day_itself(town):
    assert names(Segment(name="Recent", last_purchase_after=date(2026, 3, 1))) == ["Anna"]
    assert names(Segment(name="x", last_purchase_after=date(2026, 3, 2))) == []


def test_spend_in_a_period_is_net_of_refunds(town):
    # Anna: 300 + 200 − 100 = 400 in all; in February to March only 200 − 100 = 100.
    assert names(Segment(name="x", spend_at_least=Decimal("400"))) == ["Anna", "Bo"]
    assert names(Segment(name="x", spend_at_least=Decimal("401"))) == ["Bo"]
    assert names(Segment(name="x", spend_at_least=Decimal("100"), spend_from=date(2026, 2, 20))) == ["Anna"]
    assert names(Segment(name="x", spend_at_least=Decimal("101"), spend_from=date(2026, 2, 20))) == []
    # "Until" includes its day; anyone with no purchases spent 0.
    assert names(Segment(name="x", spend_at_most=Decimal("0"), spend_until=date(2026, 2, 14))) == [
        "Bo", "Dana"]


def test_points_balance_and_tiers_of_a_program(town, shop):
    assert names(Segment(name="x", program=shop, balance_at_least=400)) == ["Anna", "Bo"]
    assert names(Segment(name="x", program=shop, balance_at_least=50, balance_at_most=400)) == [
        "Anna", "Cecil"]
    gold = Tier.objects.create(program=shop, name="Gold", rank=1, threshold=900)
    people, _airport = town
    people["bo"].memberships.filter(program=shop).update(tier=gold)
    assert names(Segment(name="x", program=shop), tiers=[gold]) == ["Bo"]


def test_bought_at_a_store(town):
    _people, airport = town
    assert names(Segment(name="x", store=airport)) == ["Bo"]


def test_filters_apply_together(town, store):
    segment = Segment(name="x", store=store, last_purchase_after=date(2026, 1, 1))
    assert names(segment) == ["Anna"]


def test_a_closed_account_is_in_no_segment(town):
    people, _airport = town
    people["dana"].__class__.objects.filter(pk=people["dana"].pk).update(closed_at=timezone.now())
    assert "Dana" not in names(Segment(name="All"))


@pytest.mark.parametrize(("data", "field"), [
    ({"balance_at_least": "10"}, "program"),
    ({"balance_at_least": "10", "balance_at_most": "5", "program": "shop"}, "balance_at_most"),
    ({"spend_at_least": "10", "spend_at_most": "5"}, "spend_at_most"),
    ({"spend_from": "2026-03-01"}, "spend_at_least"),
    ({"spend_at_least": "1", "spend_from": "2026-03-01", "spend_until": "2026-02-01"}, "spend_until"),
    ({"last_purchase_after": "2026-03-01", "last_purchase_before": "2026-03-01"}, "last_purchase_before"),
    ({"spend_at_least": "-1"}, "spend_at_least"),
])
def test_filters_that_cannot_match_anyone_are_refused_with_a_reason(shop, data, field):
    data = {"name": "Broken", **data}
    if data.get("program") == "shop":
        data["program"] = shop.pk
    form = SegmentForm(data)
    assert not form.is_valid()
    assert field in form.errors


def test_tiers_of_another_program_are_refused(shop):
    second = Program.objects.create(name="Stamps", slug="stamps", kind=Program.Kind.VISITS)
    silver = Tier.objects.create(program=second, name="Silver", rank=1, threshold=10)
    form = SegmentForm({"name": "Mixed", "program": shop.pk, "tiers": [silver.pk]})
    assert not form.is_valid()
    assert "tiers" in form.errors


# --- Pages ---------------------------------------------------------------------------------


def test_a_manager_defines_a_segment_and_sees_who_is_in_it(client, manager, town,
                                                            django_assert_max_num_queries):
    client.force_login(manager)
    response = client.post(reverse("staff:segment_preview_size"),
                           {"name": "", "last_purchase_before": "2026-01-01"})
    assert "1 member matches now." in response.content.decode()

    response = client.post(reverse("staff:segment_new"), {
        "name": "Lapsed", "description": "Nothing bought this year", "last_purchase_before": "2026-01-01"})
    segment = Segment.objects.get(name="Lapsed")
    assert response.status_code == 302 and response.url == reverse("staff:segment", args=[segment.pk])
    assert segment.created_by == manager

    with django_assert_max_num_queries(12):
        page = client.get(reverse("staff:segment", args=[segment.pk])).content.decode()
    assert "Cecil" in page and "Anna" not in page
    with django_assert_max_num_queries(12):
        listing = client.get(reverse("staff:segments")).content.decode()
    assert "Lapsed" in listing


def test_the_list_stays_within_its_queries_however_many_segments(client, manager, town,
                                                                 django_assert_max_num_queries):
    for n in range(30):
        Segment.objects.create(name=f"Segment {n}", spend_at_least=n)
    client.force_login(manager)
    # One count per segment shown, and at most 50 are shown.
    with django_assert_max_num_queries(60):
        assert client.get(reverse("staff:segments")).status_code == 200


def test_a_bad_segment_is_not_saved_and_says_why(client, manager, shop):
    client.force_login(manager)
    response = client.post(reverse("staff:segment_new"), {"name": "Rich", "balance_at_least": "100"})
    assert response.status_code == 200
    assert "Choose the program whose tiers or points balance count." in response.content.decode()
    assert not Segment.objects.exists()


def test_a_cashier_cannot_see_or_define_segments(client, cashier):
    client.force_login(cashier)
    assert client.get(reverse("staff:segments")).status_code == 403
    assert client.post(reverse("staff:segment_new"), {"name": "x"}).status_code == 403
    assert not Segment.objects.exists()


def test_birthday_month_finds_members_who_gave_their_birthday(town):
    from programs.birthdays import set_birthday

    people, _airport = town
    set_birthday(member=people["bo"], birthday=date(1990, 7, 14))
    set_birthday(member=people["anna"], birthday=date(1985, 8, 1))
    assert names(Segment(name="x", birthday_month=7)) == ["Bo"]
