"""Campaigns, segments and treats for the demo shop (`manage.py demo`). Called before the year
of purchases is replayed, so the campaigns' purchases show their extra points. Idempotent."""

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from .birthdays import set_birthday
from .models import BonusCampaign, Member, Program, Reward, Segment, Tier


def build_demo_campaigns(program, store):
    today = timezone.localdate()
    for name, multiplier, starts, ends, extra in [
        ("Double points week", "2", today - timedelta(days=3), today + timedelta(days=3), {}),
        ("Harbour opening ×3", "3", today - timedelta(days=120), today - timedelta(days=106),
         {"store": store}),
        ("Gold weekend ×1.5", "1.5", today + timedelta(days=10), today + timedelta(days=12),
         {"minimum_tier": Tier.objects.filter(program=program, name="Gold").first()}),
    ]:
        BonusCampaign.objects.get_or_create(program=program, name=name, defaults={
            "multiplier": Decimal(multiplier), "starts_on": starts, "ends_on": ends, **extra})
    for name, description, filters in [
        ("Lapsed customers", "No purchase in the last 90 days",
         {"last_purchase_before": today - timedelta(days=90)}),
        ("Big spenders", "2,000 or more in the last 12 months",
         {"spend_at_least": Decimal("2000"), "spend_from": today - timedelta(days=365)}),
        ("Points to spend", "500 points or more, ready for a reward",
         {"program": program, "balance_at_least": 500}),
    ]:
        Segment.objects.get_or_create(name=name, defaults={"description": description, **filters})


def give_demo_treats(program, member_email):
    """Welcome points for members who join from now on, a birthday treat, and the demo
    member's birthday (given long ago, next month)."""
    Program.objects.filter(pk=program.pk).update(
        signup_points=50, birthday_points=100,
        birthday_reward=Reward.objects.filter(program=program, name="Coffee of your choice").first())
    member = Member.objects.select_related("user").get(user__email__iexact=member_email)
    if member.birthday is None:
        month = timezone.localdate().month % 12 + 1
        set_birthday(member=member, birthday=date(1990, month, 14),
                     now=timezone.now() - timedelta(days=400))
