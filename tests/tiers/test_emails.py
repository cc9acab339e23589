"""Tier emails: upgrade and downgrade notices, "close to the next tier" reminders; personal,
in both parts, deduplicated, and never sent to members who turned reminders off."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from loyalty_site.models import EmailCategory, OutboxEmail
from programs.tiers import reevaluate_tiers, send_close_to_tier_reminders

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def at(*args):
    return datetime(*args, tzinfo=STOCKHOLM)


def emails(kind):
    return list(OutboxEmail.objects.filter(kind=kind).order_by("pk"))


def test_an_upgrade_emails_the_member_with_name_balance_and_perks(shop, tiers, customer, buy):
    buy(customer, "400")
    buy(customer, "600")
    bronze, gold = emails("tier_upgraded")
    assert bronze.to_email == customer.user.email
    assert gold.subject == "Welcome to Gold in Points"
    assert gold.category == EmailCategory.REMINDERS
    for body in (gold.body_text, gold.body_html):
        assert "Hello Cleo," in body
        assert "You have reached Gold in Points." in body
        assert "1.5 times the points" in body
        assert "Early access to sales" in body
        assert "You have 1,000 points to spend." in body
    assert "List-Unsubscribe" in gold.headers


def test_the_tier_name_is_translated_in_the_members_language(shop, tiers, customer, buy):
    customer.user.language = "sv"
    customer.user.save()
    buy(customer, "1000")
    assert "Guld" in emails("tier_upgraded")[-1].body_text


def test_a_downgrade_emails_the_member_once_however_often_the_job_runs(shop, tiers, customer, buy):
    buy(customer, "1000", now=at(2025, 6, 1, 12, 0))
    reevaluate_tiers(now=at(2026, 6, 3, 3, 0))
    reevaluate_tiers(now=at(2026, 6, 3, 3, 0))
    reevaluate_tiers(now=at(2026, 6, 3, 4, 0))
    (notice,) = emails("tier_downgraded")
    assert notice.subject == "Your Points tier is now Bronze"
    for body in (notice.body_text, notice.body_html):
        assert "from Gold to Bronze" in body
        assert "Coffee refills" in body


def test_members_who_turned_reminders_off_get_no_tier_emails_but_still_move(
        shop, tiers, customer, buy):
    customer.user.emails_reminders = False
    customer.user.save()
    buy(customer, "1000", now=at(2025, 6, 1, 12, 0))
    reevaluate_tiers(now=at(2026, 6, 3, 3, 0))
    assert customer.memberships.get().tier.name == "Bronze"
    assert not OutboxEmail.objects.filter(user=customer.user).exists()


def test_close_to_the_next_tier_reminder_says_how_far_and_comes_once_a_year(shop, tiers, customer, buy):
    buy(customer, "850", now=at(2026, 3, 1, 12, 0))
    assert send_close_to_tier_reminders(now=at(2026, 3, 2, 10, 0)) == 1
    assert send_close_to_tier_reminders(now=at(2026, 3, 3, 10, 0)) == 0
    (reminder,) = emails("tier_close")
    assert reminder.subject == "150 points to Gold"
    for body in (reminder.body_text, reminder.body_html):
        assert "You are 150 points away from Gold in Points." in body
        assert "Early access to sales" in body
    # The next year, once more: March's points have left the window; 680 at Silver earns 850.
    buy(customer, "680", now=at(2027, 4, 2, 12, 0))
    assert send_close_to_tier_reminders(now=at(2027, 4, 3, 10, 0)) == 1


@pytest.mark.parametrize("amount", ["799", "1000"])
def test_no_reminder_when_far_away_or_already_there(shop, tiers, customer, buy, amount):
    buy(customer, amount)
    assert send_close_to_tier_reminders() == 0


def test_close_reminders_can_be_switched_off_per_program_and_obey_preferences(
        shop, tiers, customer, buy):
    buy(customer, "900")
    shop.tier_reminders = False
    shop.save()
    assert send_close_to_tier_reminders() == 0
    shop.tier_reminders = True
    shop.save()
    customer.user.emails_reminders = False
    customer.user.save()
    assert send_close_to_tier_reminders() == 0


def test_spend_programs_say_the_amount_in_money(shop, tiers, customer, buy):
    shop.tier_basis = "spend"
    shop.save()
    buy(customer, "812.50")
    send_close_to_tier_reminders()
    (reminder,) = emails("tier_close")
    assert "Spend SEK187.50 more to reach Gold in Points." in reminder.body_text
    assert reminder.subject.endswith("to Gold")


def test_the_reminder_task_runs_through_celery(shop, tiers, customer, buy):
    from programs.tasks import reevaluate_tiers as reevaluate_task
    from programs.tasks import send_close_to_tier_reminders as remind_task

    buy(customer, "900", now=at(2026, 3, 1, 12, 0) - timedelta(days=1))
    assert remind_task.delay().get() == {"queued": 1}
    assert reevaluate_task.delay().get() == {"points": {"upgraded": 0, "downgraded": 0,
                                                        "grace_started": 0}}
