from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from programs.models import Program
from programs.services import change_earning_rule
from referrals import services
from referrals.models import ReferralProgramSettings

from ..factories import MemberFactory, StoreFactory


@pytest.fixture
def shop(db, settings):
    """A SEK shop with one spend program and two-sided referrals: 500 points to the referrer,
    200 to the friend, for a first purchase of 100 kr within 30 days, paid after 14 days."""
    settings.SHOP_CURRENCY = "SEK"
    program = Program.objects.create(name="Points", slug="points")
    change_earning_rule(program=program, actor=None, points_per_unit=Decimal("1"),
                        effective_from=timezone.now() - timedelta(days=5 * 365))
    return program


@pytest.fixture
def referral_settings(shop):
    return ReferralProgramSettings.objects.create(
        program=shop, incentive=ReferralProgramSettings.Incentive.BOTH, referrer_points=500,
        friend_points=200, minimum_amount=Decimal("100"), qualify_within_days=30, review_days=14)


@pytest.fixture
def store(db):
    return StoreFactory(code="main", name="Main Street")


@pytest.fixture
def referrer(db):
    return MemberFactory(user__email="anna.berg@example.com", user__name="Anna Berg",
                         user__phone="+46 70 123 45 67")


@pytest.fixture
def code(referrer):
    return services.referral_code_for(referrer)


@pytest.fixture
def friend(db):
    return MemberFactory(user__email="bo@example.org", user__name="Bo Ek")
