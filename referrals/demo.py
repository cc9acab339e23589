"""Referrals for the demo shop (`manage.py demo`): the points program's referral settings and
the demo member's friends in every state — rewarded, waiting out the review period, refunded,
flagged for review, refused, just joined.

Called once the demo's purchases exist; adds nothing when the demo referrals are there already.
"""

from datetime import timedelta
from decimal import Decimal

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.utils import timezone

from programs import services as program_services
from programs.models import Member, Program, Store

from . import services
from .models import ReferralProgramSettings, Source

# (email, name, days since joining, first purchase days after joining or None, refunded)
FRIENDS = [
    ("linnea.friend@example.com", "Linnea Sund", 60, 2, False),
    ("oskar.friend@example.com", "Oskar Lind", 45, 5, False),
    ("ewa.friend@example.com", "Ewa Kowalska", 40, 1, False),
    ("kenji.friend@example.com", "Kenji Sato", 8, 1, False),
    ("nils.friend@example.com", "Nils Berg", 6, 1, True),
    ("ida.friend@example.com", "Ida Holm", 3, None, False),
    ("mats.friend@example.com", "Mats Ek", 3, None, False),
    # The third friend in a day is over the demo's burst limit: flagged for review.
    ("sara.friend@example.com", "Sara Ek", 3, None, False),
    ("temp.friend@mailinator.com", "Temp Person", 2, None, False),
]


def build_demo_referrals(*, member_email):
    program = Program.objects.filter(slug="points").first()
    member = Member.objects.filter(user__email=member_email).first()
    if program is None or member is None or ReferralProgramSettings.objects.filter(program=program).exists():
        return
    ReferralProgramSettings.objects.create(
        program=program, incentive=ReferralProgramSettings.Incentive.BOTH, referrer_points=200,
        friend_points=100, minimum_amount=Decimal("20"), qualify_within_days=30, review_days=14,
        cap_per_month=10, milestone_every=3, milestone_points=300, cookie_days=30, burst_limit=2)
    code = services.referral_code_for(member)
    services.set_leaderboard(member=member, show=True)
    store = Store.objects.order_by("pk").first()
    now = timezone.now()
    User = get_user_model()
    for n, (email, name, days_ago, buys_after, refunded) in enumerate(FRIENDS, start=1):
        joined = now - timedelta(days=days_ago)
        user = User.objects.create_user(email=email, name=name, date_joined=joined)
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
        friend = program_services.enrol_member(user=user, store=store, joined_at=joined, source="demo")
        services.attribute(friend=friend, code=code.code, source=Source.LINK if n % 2 else Source.TILL,
                           store=store, now=joined)
        if buys_after is None:
            continue
        when = joined + timedelta(days=buys_after)
        purchase, _created = program_services.record_purchase(
            store=store, member=friend, external_id=f"DEMO-REF-{n:03d}", amount=Decimal("64.50"),
            occurred_at=when, now=when)
        if refunded:
            program_services.refund_purchase(purchase=purchase, external_id=f"DEMO-REF-{n:03d}-R",
                                             amount=Decimal("64.50"), now=when + timedelta(days=1))
    services.run_referral_schedule(now=now)
