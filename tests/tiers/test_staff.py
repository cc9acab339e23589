"""The staff tier page: managers only, a preview of members per tier before saving, and a save
that checks the tiers and logs who did it."""

import pytest
from django.urls import reverse

from loyalty_site.models import StaffAction
from programs.models import Tier

from ..factories import MemberFactory


def form_data(tiers, *, preview=False, basis="points", window="rolling_12_months", grace=0, extra=()):
    data = {"basis": basis, "window_kind": window, "grace_days": grace, "reminders": "on",
            "tiers-TOTAL_FORMS": len(tiers) + len(extra), "tiers-INITIAL_FORMS": len(tiers),
            "tiers-MIN_NUM_FORMS": 0, "tiers-MAX_NUM_FORMS": 10}
    for n, row in enumerate([*tiers, *extra]):
        for key, value in row.items():
            data[f"tiers-{n}-{key}"] = value
    if preview:
        data["preview"] = "1"
    return data


def rows(tier_list, **changes):
    return [{"id": t.pk, "name": t.name, "threshold": changes.get(t.name, t.threshold),
             "multiplier": t.multiplier, "perks": t.perks} for t in tier_list]


@pytest.fixture
def url(shop):
    return reverse("staff:tier_settings", args=[shop.slug])


@pytest.fixture
def crowd(shop, tiers, buy):
    """Members who earned 100, 450, 600, 900 and 1200 points."""
    people = MemberFactory.create_batch(5)
    for person, amount in zip(people, ["100", "450", "600", "900", "1200"], strict=True):
        buy(person, amount)
    return people


def test_only_managers_configure_tiers(client, cashier, manager, url):
    client.force_login(cashier)
    assert client.get(url).status_code == 403
    assert client.get(reverse("staff:tiers")).status_code == 403
    client.force_login(manager)
    assert client.get(reverse("staff:tiers")).status_code == 200
    assert client.get(url).status_code == 200


def test_preview_counts_members_per_tier_under_new_thresholds_and_saves_nothing(
        client, manager, shop, tiers, crowd, url, django_assert_max_num_queries):
    client.force_login(manager)
    data = form_data(rows(tiers, Silver="400", Gold="800"), preview=True)
    response = client.post(url, data)
    page = response.content.decode()
    assert response.status_code == 200
    preview = page[page.index('data-testid="tier-preview"'):]
    # Bronze: 100; Silver (400): 450, 600 (600 earned at Silver too); Gold (800): 900, 1200.
    assert [int(n) for n in _counts(preview)] == [1, 2, 2, 0]
    assert list(Tier.objects.order_by("rank").values_list("threshold", flat=True)) == [0, 500, 1000]
    assert not StaffAction.objects.exists()


def _counts(html):
    import re

    return re.findall(r'<td class="number">(\d+)</td>', html)[:4]


def test_saving_changes_the_tiers_and_logs_it(client, manager, shop, tiers, url):
    client.force_login(manager)
    new = {"name": "Platinum", "threshold": "5000", "multiplier": "2", "perks": "Personal shopper"}
    response = client.post(url, form_data(rows(tiers, Silver="400"), grace=14, extra=[new]))
    assert response.status_code == 302
    assert list(Tier.objects.order_by("rank").values_list("name", "threshold")) == [
        ("Bronze", 0), ("Silver", 400), ("Gold", 1000), ("Platinum", 5000)]
    shop.refresh_from_db()
    assert shop.tier_grace_days == 14
    assert StaffAction.objects.get().action == "programs.tiers.configured"


def test_thresholds_must_rise_and_nothing_is_saved_otherwise(client, manager, shop, tiers, url):
    client.force_login(manager)
    response = client.post(url, form_data(rows(tiers, Silver="1500"), grace=5))
    assert "Each tier needs a higher threshold than the one before it." in response.content.decode()
    assert Tier.objects.get(name="Silver").threshold == 500
    shop.refresh_from_db()
    assert shop.tier_grace_days == 0


def test_swapping_two_tiers_thresholds_in_one_save_works(client, manager, shop, tiers, url):
    client.force_login(manager)
    swapped = rows(tiers)
    swapped[1], swapped[2] = ({**swapped[2], "threshold": "500"}, {**swapped[1], "threshold": "1000"})
    assert client.post(url, form_data(swapped)).status_code == 302
    assert list(Tier.objects.order_by("rank").values_list("name", flat=True)) == ["Bronze", "Gold", "Silver"]


def test_a_tier_members_hold_cannot_be_removed(client, manager, shop, tiers, crowd, url):
    client.force_login(manager)
    data = form_data(rows(tiers))
    data["tiers-2-delete"] = "on"
    response = client.post(url, data)
    assert "Gold cannot be removed" in response.content.decode()
    assert Tier.objects.count() == 3


def test_the_tier_page_does_a_bounded_number_of_queries(
        client, manager, shop, tiers, buy, url, django_assert_max_num_queries):
    client.force_login(manager)
    for person in MemberFactory.create_batch(20):
        buy(person, "700")
    with django_assert_max_num_queries(12):
        assert client.get(url).status_code == 200
    with django_assert_max_num_queries(12):
        assert client.post(url, form_data(rows(tiers), preview=True)).status_code == 200
    with django_assert_max_num_queries(10):
        assert client.get(reverse("staff:tiers")).status_code == 200


def test_preview_of_a_calendar_year_counts_last_years_qualifiers(client, manager, shop, tiers, buy, url):
    from datetime import timedelta

    from django.utils import timezone

    last_year = timezone.now().replace(month=6, day=1) - timedelta(days=365)
    for person in MemberFactory.create_batch(2):
        buy(person, "1000", now=last_year)
    client.force_login(manager)
    rolling = client.post(url, form_data(rows(tiers), preview=True)).content.decode()
    calendar = client.post(url, form_data(rows(tiers), preview=True, window="calendar_year")).content.decode()
    assert [int(n) for n in _counts(rolling[rolling.index("tier-preview"):])] == [2, 0, 0, 0]
    assert [int(n) for n in _counts(calendar[calendar.index("tier-preview"):])] == [0, 0, 2, 0]


# --- A manager sets a member's tier at the till ------------------------------------------------


def test_a_manager_sets_a_tier_at_the_till_with_a_reason_and_it_is_recorded(
        client, manager, shop, tiers, customer, buy):
    from programs.models import TierChange

    shop.tier_grace_days = 30
    shop.save()
    buy(customer, "100")
    client.force_login(manager)
    panel = reverse("staff:till_member", args=[customer.number])
    assert "Change tier" in client.get(panel).content.decode()
    response = client.post(reverse("staff:till_tier", args=[customer.number]),
                           {"tier-tier": str(tiers[2].pk), "tier-reason": "Complaint goodwill"})
    assert response.status_code == 302
    membership = customer.memberships.get()
    assert membership.tier == tiers[2]
    assert membership.tier_grace_until is not None  # kept for the grace period, then re-evaluated
    change = TierChange.objects.get(to_tier=tiers[2])
    assert (change.reason, change.actor, change.from_tier) == (TierChange.Reason.STAFF, manager, tiers[0])
    assert StaffAction.objects.get(action="programs.tier.set").reason == "Complaint goodwill"


def test_setting_a_tier_needs_a_reason_and_a_manager(client, cashier, manager, shop, tiers, customer, buy):
    buy(customer, "100")
    url = reverse("staff:till_tier", args=[customer.number])
    client.force_login(cashier)
    panel = client.get(reverse("staff:till_member", args=[customer.number])).content.decode()
    assert "Change tier" not in panel
    assert client.post(url, {"tier-tier": str(tiers[2].pk), "tier-reason": "x"}).status_code == 403
    client.force_login(manager)
    response = client.post(url, {"tier-tier": str(tiers[2].pk), "tier-reason": " "})
    assert response.status_code == 200
    assert customer.memberships.get().tier == tiers[0]
