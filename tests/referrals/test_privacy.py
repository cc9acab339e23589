"""A member's referral data in their download, and what closing the account forgets."""

import pytest
from django.test import RequestFactory

from loyalty_site.privacy import close_account
from programs.personal_data import member_data
from referrals import services
from referrals.models import Reason, Referral, ReferralIncident, Source

from ..factories import MemberFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def referred(referral_settings, code, friend):
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="Phone")
    services.attribute(friend=friend, code=code.code, source=Source.SIGNUP, request=request)
    services.set_leaderboard(member=code.member, show=True)
    return Referral.objects.get()


def test_the_download_holds_my_code_my_friends_and_who_brought_me(referred, referrer, friend):
    mine = member_data(referrer)
    theirs = member_data(friend)

    assert mine["referral_code"][0]["code"] == referrer.referral_code.display_code
    assert mine["referral_code"][0]["on_leaderboard"] is True
    assert [(r["person"], r["status"], r["source"]) for r in mine["referrals_made"]] == [
        ("Bo E.", "joined", "signup")]
    assert [r["person"] for r in theirs["referred_by"]] == ["Anna B."]
    assert theirs["referral_code"] == []


def test_closing_forgets_the_device_and_the_leaderboard_and_the_code_stops_working(referred, referrer,
                                                                                  friend):
    close_account(user=friend.user)
    close_account(user=referrer.user)

    referred.refresh_from_db()
    assert referred.device == "" and referred.status == Referral.Status.JOINED
    code = referrer.referral_code
    code.refresh_from_db()
    assert code.on_leaderboard is False
    services.attribute(friend=MemberFactory(), code=code.code, source=Source.API)
    assert ReferralIncident.objects.get().reason == Reason.UNKNOWN
