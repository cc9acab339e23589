"""The points-expiring reminder: personal, translated, once per expiry, obeying preferences."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from loyalty_site.models import OutboxEmail
from programs import services
from programs.reminders import send_expiry_reminders

pytestmark = pytest.mark.django_db


@pytest.fixture
def expiring_soon(shop, store, customer, coffee):
    """150 points earned 355 days ago: they expire in about ten days (12-month expiry)."""
    shop.expiry_reminder_days = 14
    shop.save()
    services.record_purchase(store=store, member=customer, external_id="old", amount="150.00",
                             now=timezone.now() - timedelta(days=355))
    return customer


def test_members_hear_about_points_expiring_within_the_window(expiring_soon, mailoutbox,
                                                               django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        assert send_expiry_reminders() == 1
    email = OutboxEmail.objects.get()
    assert email.kind == "points_expiring" and email.category == "reminders"
    sent = mailoutbox[0]
    assert sent.to == [expiring_soon.user.email]
    assert "150 points expire" in sent.subject
    assert "Coffee" in sent.body  # what they can get now
    assert "Coffee" in sent.alternatives[0][0]
    assert "List-Unsubscribe" in sent.extra_headers


def test_the_same_reminder_is_sent_once(expiring_soon):
    assert send_expiry_reminders() == 1
    assert send_expiry_reminders() == 0
    assert OutboxEmail.objects.count() == 1


def test_no_reminder_outside_the_window_or_for_members_who_opted_out(expiring_soon):
    assert send_expiry_reminders(now=timezone.now() - timedelta(days=30)) == 0
    expiring_soon.user.emails_reminders = False
    expiring_soon.user.save()
    assert send_expiry_reminders() == 0
    assert not OutboxEmail.objects.exists()


def test_the_reminder_speaks_the_members_language(expiring_soon):
    expiring_soon.user.language = "sv"
    expiring_soon.user.save()
    send_expiry_reminders()
    assert "150 points expire" not in OutboxEmail.objects.get().subject
    assert mail.outbox == []


def test_the_reminder_suggests_only_rewards_that_can_be_had(expiring_soon, coffee, mailoutbox,
                                                             django_capture_on_commit_callbacks):
    coffee.stock = 0
    coffee.save()
    with django_capture_on_commit_callbacks(execute=True):
        send_expiry_reminders()
    assert "Coffee" not in mailoutbox[0].body
