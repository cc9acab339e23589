"""Tiers: thresholds, windows, upgrades in the purchase, multipliers, re-evaluation."""

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from loyalty_site.models import OutboxEmail
from programs import tiers as tier_rules
from programs.models import LedgerEntry, Membership, Program, TierChange
from programs.services import grant_points, redeem_reward, refund_purchase
from programs.tiers import program_tiers, qualifying_amount, reevaluate_tiers, upgrade_if_qualified

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def at(*args, tz=STOCKHOLM):
    return datetime(*args, tzinfo=tz)


def membership(member, program):
    return Membership.objects.select_related("tier", "program").get(member=member, program=program)


# --- Thresholds ------------------------------------------------------------------------------


@pytest.mark.parametrize(("amount", "tier"), [
    ("499", "Bronze"), ("500", "Silver"), ("999", "Silver"), ("1000", "Gold"),
])
def test_a_purchase_reaching_a_threshold_exactly_upgrades_and_one_below_does_not(
        shop, tiers, customer, buy, amount, tier):
    buy(customer, amount)
    assert membership(customer, shop).tier.name == tier


def test_the_upgrade_happens_in_the_purchase_that_crosses_and_is_recorded(shop, tiers, customer, buy):
    buy(customer, "400")
    assert membership(customer, shop).tier.name == "Bronze"
    purchase = buy(customer, "100")
    ms = membership(customer, shop)
    assert ms.tier.name == "Silver"
    assert ms.tier_since == purchase.recorded_at
    change = TierChange.objects.filter(membership=ms).first()
    assert (change.from_tier.name, change.to_tier.name, change.reason, change.amount) == (
        "Bronze", "Silver", TierChange.Reason.PURCHASE, 500)
    assert change.created_at == purchase.recorded_at


def test_redemptions_never_lower_what_counts(shop, tiers, customer, buy):
    from programs.models import Reward

    reward = Reward.objects.create(program=shop, name="Tote", kind=Reward.Kind.FREE_PRODUCT, cost=400)
    buy(customer, "450")
    redeem_reward(member=customer, reward=reward)
    buy(customer, "50")
    ms = membership(customer, shop)
    assert ms.balance == 100
    assert ms.tier.name == "Silver"


def test_a_bonus_counts_as_earned_and_re_evaluation_catches_it_up(shop, tiers, customer, buy):
    buy(customer, "100")
    grant_points(member=customer, program=shop, points=450, cause_key="birthday:2026")
    ms = membership(customer, shop)
    assert qualifying_amount(ms, timezone.now()) == 550
    assert ms.tier.name == "Bronze"  # grants do not move tiers; the nightly job does
    reevaluate_tiers()
    assert membership(customer, shop).tier.name == "Silver"
    assert TierChange.objects.get(to_tier__name="Silver").reason == TierChange.Reason.REEVALUATION


def test_staff_adjustments_do_not_count(shop, tiers, customer, buy, manager):
    from programs.services import adjust_points

    buy(customer, "100")
    adjust_points(member=customer, program=shop, points=900, reason="Goodwill", actor=manager)
    assert qualifying_amount(membership(customer, shop), timezone.now()) == 100


def test_money_spent_counts_net_of_refunds(shop, tiers, customer, buy):
    shop.tier_basis = Program.TierBasis.SPEND
    shop.save()
    first = buy(customer, "300.50")
    buy(customer, "250")
    assert membership(customer, shop).tier.name == "Silver"
    refund_purchase(purchase=first, external_id="RF-1", amount="100.50")
    assert qualifying_amount(membership(customer, shop), timezone.now()) == Decimal("450.00")


def test_a_purchase_under_the_earning_minimum_still_counts_as_spend(shop, tiers, customer, buy):
    from programs.services import change_earning_rule

    shop.tier_basis = Program.TierBasis.SPEND
    shop.save()
    change_earning_rule(program=shop, actor=None, points_per_unit=Decimal("1"),
                        minimum_amount=Decimal("1000"),
                        effective_from=timezone.now() - timedelta(days=1))
    buy(customer, "600")
    ms = membership(customer, shop)
    assert ms.balance == 0
    assert ms.tier.name == "Silver"


# --- Windows ---------------------------------------------------------------------------------


def test_rolling_window_starts_at_midnight_shop_time_a_year_ago(shop, tiers, customer, buy):
    # 23:30 UTC on 22 Nov 2025 is 00:30 on 23 Nov in Stockholm: inside a window that starts
    # at midnight Stockholm time on 23 Nov 2025; an hour earlier is outside.
    now = at(2026, 11, 23, 12, 0)
    buy(customer, "300", now=at(2025, 11, 22, 23, 30, tz=ZoneInfo("UTC")))
    buy(customer, "200", now=at(2025, 11, 22, 22, 30, tz=ZoneInfo("UTC")))
    assert qualifying_amount(membership(customer, shop), now) == 300
    start, _end = tier_rules.window(shop, now)
    assert start == at(2025, 11, 23, 0, 0)


def test_calendar_window_starts_on_new_years_day_in_the_shop_time_zone(shop, tiers, customer, buy):
    shop.tier_window = Program.TierWindow.CALENDAR
    shop.save()
    # 31 Dec 2025 23:30 UTC is already 1 Jan 2026 in Stockholm.
    buy(customer, "300", now=at(2025, 12, 31, 23, 30, tz=ZoneInfo("UTC")))
    buy(customer, "200", now=at(2025, 12, 31, 22, 59, tz=ZoneInfo("UTC")))
    ms = membership(customer, shop)
    assert qualifying_amount(ms, at(2026, 6, 1, 12, 0)) == 300
    assert qualifying_amount(ms, at(2025, 12, 31, 23, 59)) == 200


def test_a_refund_in_january_lowers_the_year_the_points_were_earned_in(shop, tiers, customer, buy):
    shop.tier_window = Program.TierWindow.CALENDAR
    shop.save()
    december = buy(customer, "600", now=at(2025, 12, 20, 12, 0))
    buy(customer, "100", now=at(2026, 1, 5, 12, 0))  # at Silver: 125 points
    refund_purchase(purchase=december, external_id="RF", amount="300", now=at(2026, 1, 10, 12, 0))
    ms = membership(customer, shop)
    assert qualifying_amount(ms, at(2025, 12, 31, 12, 0)) == 300
    assert qualifying_amount(ms, at(2026, 1, 31, 12, 0)) == 125


def test_in_a_calendar_year_program_a_tier_reached_last_year_lasts_through_this_one(
        shop, tiers, customer, buy):
    shop.tier_window = Program.TierWindow.CALENDAR
    shop.save()
    buy(customer, "1000", now=at(2025, 3, 1, 12, 0))
    reevaluate_tiers(now=at(2026, 12, 31, 3, 0))
    assert membership(customer, shop).tier.name == "Gold"
    reevaluate_tiers(now=at(2027, 1, 1, 3, 0))
    assert membership(customer, shop).tier.name == "Bronze"


# --- Multiplier ------------------------------------------------------------------------------


def test_the_tier_multiplier_applies_from_the_next_purchase_and_is_recorded(shop, tiers, customer, buy):
    buy(customer, "1000")  # earns 1000 at Bronze ×1, reaches Gold
    purchase = buy(customer, "33")  # 33 × 1.5 = 49.5 → 49
    entry = LedgerEntry.objects.get(purchase=purchase)
    assert entry.points == 49
    assert entry.reason == "Gold ×1.50"


def test_a_refund_reverses_what_the_multiplier_actually_earned(shop, tiers, customer, buy):
    buy(customer, "1000")
    purchase = buy(customer, "100")  # 150 points at Gold
    # The member is downgraded before the refund: the refund still takes back 150, not 100.
    Membership.objects.filter(member=customer).update(tier=tiers[0])
    refund_purchase(purchase=purchase, external_id="RF", amount="100")
    reversed_points = LedgerEntry.objects.get(refund__purchase=purchase).points
    assert reversed_points == -150
    half = buy(customer, "10")  # Bronze ×1
    refund_purchase(purchase=half, external_id="RF2", amount="5")
    assert LedgerEntry.objects.get(refund__purchase=half).points == -5


def test_visits_are_multiplied_too(db, customer, buy, settings):
    from programs.models import Tier
    from programs.services import change_earning_rule

    settings.SHOP_CURRENCY = "SEK"
    card = Program.objects.create(name="Card", slug="card", kind=Program.Kind.VISITS)
    change_earning_rule(program=card, actor=None, points_per_visit=2,
                        effective_from=timezone.now() - timedelta(days=1))
    Tier.objects.create(program=card, name="Regular", rank=0, threshold=4, multiplier=Decimal("1.5"))
    buy(customer, "10")
    buy(customer, "10")
    buy(customer, "10")
    assert membership(customer, card).balance == 2 + 2 + 3


# --- Re-evaluation ---------------------------------------------------------------------------


def test_downgrade_only_at_re_evaluation_and_never_in_a_purchase(shop, tiers, customer, buy):
    buy(customer, "1000", now=at(2025, 6, 1, 12, 0))
    buy(customer, "10", now=at(2026, 6, 2, 12, 0))  # the Gold purchase has left the window
    assert membership(customer, shop).tier.name == "Gold"
    reevaluate_tiers(now=at(2026, 6, 3, 3, 0))
    ms = membership(customer, shop)
    assert ms.tier.name == "Bronze"
    change = TierChange.objects.filter(membership=ms).first()
    assert (change.from_tier.name, change.reason) == ("Gold", TierChange.Reason.REEVALUATION)


def test_with_a_grace_period_the_tier_is_kept_until_it_ends(shop, tiers, customer, buy):
    shop.tier_grace_days = 30
    shop.save()
    buy(customer, "1000", now=at(2025, 6, 1, 12, 0))
    first_look = at(2026, 6, 3, 3, 0)
    reevaluate_tiers(now=first_look)
    ms = membership(customer, shop)
    assert ms.tier.name == "Gold"
    assert ms.tier_grace_until == first_look + timedelta(days=30)
    reevaluate_tiers(now=first_look + timedelta(days=29))
    assert membership(customer, shop).tier.name == "Gold"
    reevaluate_tiers(now=first_look + timedelta(days=30))
    ms = membership(customer, shop)
    assert ms.tier.name == "Bronze"
    assert ms.tier_grace_until is None
    assert TierChange.objects.get(to_tier__name="Bronze").reason == TierChange.Reason.GRACE_ENDED


def test_qualifying_again_during_grace_keeps_the_tier(shop, tiers, customer, buy):
    shop.tier_grace_days = 30
    shop.save()
    buy(customer, "1000", now=at(2025, 6, 1, 12, 0))
    reevaluate_tiers(now=at(2026, 6, 3, 3, 0))
    buy(customer, "1000", now=at(2026, 6, 10, 12, 0))
    ms = membership(customer, shop)
    assert (ms.tier.name, ms.tier_grace_until) == ("Gold", None)
    reevaluate_tiers(now=at(2026, 7, 10, 3, 0))
    assert membership(customer, shop).tier.name == "Gold"


def test_running_re_evaluation_twice_changes_nothing_the_second_time(shop, tiers, buy):
    from ..factories import MemberFactory

    shop.tier_grace_days = 10
    shop.save()
    people = MemberFactory.create_batch(6)
    for person, amount in zip(people, ["1000", "600", "50", "1000", "700", "10"], strict=True):
        buy(person, amount, now=at(2025, 6, 1, 12, 0))
    buy(people[3], "1000", now=at(2026, 6, 1, 12, 0))
    Membership.objects.filter(member=people[5]).update(tier=None)
    now = at(2026, 6, 3, 3, 0)

    def state():
        tiers_now = Membership.objects.order_by("pk").values_list("tier_id", "tier_since", "tier_grace_until")
        return (list(tiers_now),
                TierChange.objects.count(), OutboxEmail.objects.count())

    first = reevaluate_tiers(now=now)
    after_first = state()
    second = reevaluate_tiers(now=now)
    assert state() == after_first
    assert first["points"]["grace_started"] == 3 and first["points"]["upgraded"] == 1
    assert second["points"] == {"upgraded": 0, "downgraded": 0, "grace_started": 0}


def test_upgrade_if_qualified_never_moves_down(shop, tiers, customer, buy):
    buy(customer, "1000", now=at(2025, 6, 1, 12, 0))
    ms = membership(customer, shop)
    assert upgrade_if_qualified(ms, program_tiers(ms.program), at(2026, 6, 10, 12, 0)) is None
    assert membership(customer, shop).tier.name == "Gold"
