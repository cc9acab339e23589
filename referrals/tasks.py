"""Periodic referral work. Idempotent: a second run does nothing the first did not leave."""

from celery import shared_task

from . import services


@shared_task
def run_referral_schedule():
    return services.run_referral_schedule()
