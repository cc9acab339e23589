import pytest

from programs.selectors import ledger_breaches
from referrals.demo import build_demo_referrals
from referrals.models import Referral, ReferralIncident

from ..factories import MemberFactory, StoreFactory

pytestmark = pytest.mark.django_db


def test_the_demo_shows_referrals_in_every_state_and_adds_nothing_the_second_time(shop):
    StoreFactory()
    MemberFactory(user__email="member@example.com")

    build_demo_referrals(member_email="member@example.com")
    build_demo_referrals(member_email="member@example.com")

    statuses = set(Referral.objects.values_list("status", flat=True))
    assert statuses == {"rewarded", "qualified", "refused", "joined", "flagged"}
    assert Referral.objects.count() == 8
    assert ReferralIncident.objects.filter(reason="disposable_email").count() == 1
    assert list(ledger_breaches()) == []
