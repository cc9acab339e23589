"""Paid memberships in the demo shop (`manage.py demo`): a monthly VIP plan with a free trial and
a yearly one; the demo member pays monthly at the till, a few others are in other states."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from . import subscriptions
from .business import shop_currency
from .models import Member, Plan, Subscription

# Days since each demo subscriber paid their month: paid up, renewing soon, past due, lapsed.
PAID_DAYS_AGO = [20, 10, 26, 33, 45]


def build_demo_plans(program, *, member_email):
    """Idempotent: plans are found by name, and nobody already subscribed is subscribed again."""
    vip, _created = Plan.objects.get_or_create(program=program, name="VIP", defaults={
        "price": Decimal("9.00"), "period": Plan.Period.MONTH, "trial_days": 14,
        "multiplier": Decimal("1.5"), "bonus_points": 100,
        "perks": "A free coffee refill every visit and early access to sales."})
    Plan.objects.get_or_create(program=program, name="VIP yearly", defaults={
        "price": Decimal("90.00"), "period": Plan.Period.YEAR, "multiplier": Decimal("1.5"),
        "bonus_points": 1500, "perks": "Everything in VIP, two months free."})
    if Subscription.objects.filter(plan__program=program).exists():
        return
    demo_member = Member.objects.get(user__email=member_email)
    others = Member.objects.filter(memberships__program=program).exclude(pk=demo_member.pk)
    now = timezone.now()
    for index, (member, days_ago) in enumerate(zip([demo_member, *others.order_by("pk")[:4]],
                                                   PAID_DAYS_AGO, strict=False)):
        subscriptions.record_subscription_payment(
            member=member, plan=vip, amount=vip.price, currency=shop_currency(),
            method="card" if index % 2 else "cash", now=now - timedelta(days=days_ago))
    # The hourly work, as if it had run all along: some are past due, one has lapsed.
    subscriptions.advance_subscriptions(now=now)
