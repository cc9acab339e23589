"""Nightly points work. Each task is idempotent: running it twice does nothing the second time."""

from celery import shared_task

from . import birthdays, offers, reminders, services, subscriptions, tiers
from .rollups import roll_up_points, roll_up_purchases


@shared_task
def expire_points():
    lots, points = services.expire_points()
    return {"lots": lots, "points": points}


@shared_task
def release_pending_points():
    return {"lots": services.release_pending_points()}


@shared_task
def send_expiry_reminders():
    return {"queued": reminders.send_expiry_reminders()}


@shared_task
def roll_up_points_days():
    """The dashboard's daily roll-ups: the points ledger, and purchases per member."""
    return {"days": roll_up_points(), "purchases": roll_up_purchases()}


@shared_task
def reevaluate_tiers():
    return tiers.reevaluate_tiers()


@shared_task
def send_close_to_tier_reminders():
    return {"queued": tiers.send_close_to_tier_reminders()}


@shared_task
def run_subscription_schedule():
    """Paid memberships, in order: credit the bonus of periods that began, move unpaid ones to
    past due and lapsed, then remind those whose period ends soon."""
    return {"bonuses": subscriptions.credit_due_bonuses(),
            **subscriptions.advance_subscriptions(),
            "reminders": subscriptions.send_renewal_reminders()}


@shared_task
def give_birthday_treats():
    return {"members": birthdays.give_birthday_treats()}


@shared_task
def email_offer(offer_id):
    return {"queued": offers.email_offer(offer_id)}


@shared_task
def email_unemailed_offers():
    return {"queued": offers.email_unemailed_offers()}


@shared_task
def send_winback_reminders():
    return {"queued": offers.send_winback_reminders()}
