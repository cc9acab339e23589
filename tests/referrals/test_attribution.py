"""Attribution through the API, the till and the services: every fraud rule refuses or flags
with its reason code, and a bad code never blocks the enrolment or the purchase."""

from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.utils import timezone

from loyalty_site.models import User
from programs.models import Member, Purchase
from programs.services import find_or_enrol_customer, record_purchase
from referrals import services
from referrals.models import Reason, Referral, ReferralIncident, Source

from ..factories import MemberFactory

pytestmark = pytest.mark.django_db


def enrol(email, code, **extra):
    member, created = find_or_enrol_customer(email=email, referral_code=code, source="api", **extra)
    assert created
    return member


def reasons():
    return list(ReferralIncident.objects.values_list("reason", flat=True))


def test_a_code_given_to_the_api_refers_the_new_customer(referral_settings, code, referrer):
    friend = enrol("new@example.org", code.display_code.lower())

    referral = Referral.objects.get()
    assert (referral.referrer, referral.friend, referral.source) == (referrer, friend, Source.API)
    assert referral.status == Referral.Status.JOINED
    assert referral.qualify_until == friend.joined_at + timedelta(days=30)
    assert reasons() == []


@pytest.mark.parametrize(("typed", "reason"), [
    ("hello", Reason.MALFORMED),
    ("ZZZZ-ZZZZ", Reason.UNKNOWN),
    ("ABCD-EFGH-IJKL", Reason.MALFORMED),
])
def test_malformed_and_unknown_codes_are_recorded_and_never_block_enrolment(referral_settings, code,
                                                                            typed, reason):
    friend = enrol("new@example.org", typed)

    assert Member.objects.filter(pk=friend.pk).exists()
    assert not Referral.objects.exists()
    incident = ReferralIncident.objects.get()
    assert (incident.reason, incident.code, incident.friend) == (reason, typed, friend)


def test_own_code_at_the_till_is_refused_and_the_purchase_recorded(referral_settings, code, referrer, store):
    purchase, created = record_purchase(store=store, member=referrer, external_id="R1", amount="150",
                                        referral_code=code.code)

    assert created
    assert "Own code" in purchase.notices[0]
    assert not Referral.objects.exists()
    assert reasons() == [Reason.OWN_CODE]


@pytest.mark.parametrize(("referrer_email", "friend_email"), [
    ("anna.berg@gmail.com", "annaberg+friend@googlemail.com"),
    ("a.n.n.a@gmail.com", "ANNA@gmail.com"),
    ("anna@outlook.com", "anna+shop@outlook.com"),
])
def test_the_same_mailbox_is_a_self_referral(referral_settings, referrer_email, friend_email):
    referrer = MemberFactory(user__email=referrer_email)
    code = services.referral_code_for(referrer)

    enrol(friend_email, code.code)

    assert not Referral.objects.exists()
    assert reasons() == [Reason.SAME_EMAIL]


def test_dots_count_where_the_provider_does_not_ignore_them(referral_settings):
    code = services.referral_code_for(MemberFactory(user__email="anna.berg@example.com"))

    enrol("annaberg@example.com", code.code)

    assert Referral.objects.count() == 1


def test_the_same_phone_is_a_self_referral(referral_settings, code):
    enrol("someone@example.org", code.code, phone="070-123 45 67")

    assert not Referral.objects.exists()
    assert reasons() == [Reason.SAME_PHONE]


def test_a_throwaway_mailbox_is_refused(referral_settings, code):
    friend = enrol("x7@mailinator.com", code.code)

    assert friend.pk and not Referral.objects.exists()
    assert reasons() == [Reason.DISPOSABLE_EMAIL]


def test_a_person_known_long_before_the_code_is_refused(referral_settings, code):
    User.objects.create_user(email="old@example.org", date_joined=timezone.now() - timedelta(days=90))

    enrol("old@example.org", code.code)

    assert not Referral.objects.exists()
    assert reasons() == [Reason.KNOWN_CUSTOMER]


def test_a_code_at_the_till_counts_on_the_first_purchase_only(referral_settings, code, friend, store):
    record_purchase(store=store, member=friend, external_id="R1", amount="50")

    purchase, _created = record_purchase(store=store, member=friend, external_id="R2", amount="150",
                                         referral_code=code.code)

    assert not Referral.objects.exists()
    assert reasons() == [Reason.NOT_FIRST_PURCHASE]
    assert "Code given after the first purchase" in purchase.notices[0]


def test_a_code_at_the_first_purchase_refers_and_qualifies_at_once(referral_settings, code, friend, store):
    purchase, _created = record_purchase(store=store, member=friend, external_id="R1", amount="150",
                                         referral_code=code.code)

    referral = Referral.objects.get()
    assert (referral.source, referral.status, referral.purchase) == (
        Source.TILL, Referral.Status.QUALIFIED, purchase)
    assert "Anna B." in purchase.notices[0]


def test_the_first_valid_attribution_wins(referral_settings, code, store):
    friend = enrol("new@example.org", code.code)
    other = services.referral_code_for(MemberFactory())

    purchase, _created = record_purchase(store=store, member=friend, external_id="R1", amount="150",
                                         referral_code=other.code)

    referral = Referral.objects.get()
    assert referral.referrer == code.member
    assert referral.status == Referral.Status.QUALIFIED
    assert str(Reason.ALREADY_REFERRED.label) in purchase.notices[0]


def test_without_a_running_program_the_code_is_refused(referral_settings, code):
    referral_settings.is_active = False
    referral_settings.save()

    enrol("new@example.org", code.code)

    assert reasons() == [Reason.NO_PROGRAM]


def test_a_burst_of_friends_from_one_referrer_is_flagged_for_review(referral_settings, code):
    referral_settings.burst_limit = 2
    referral_settings.save()

    for n in range(3):
        enrol(f"friend{n}@example.org", code.code)

    statuses = list(Referral.objects.order_by("pk").values_list("status", "reason"))
    assert statuses == [("joined", ""), ("joined", ""), ("flagged", Reason.REFERRER_BURST)]
    assert ReferralIncident.objects.get().outcome == ReferralIncident.Outcome.FLAGGED
    assert Referral.objects.get(status="flagged").review_until is not None


def test_many_sign_ups_from_one_device_are_flagged_not_refused(referral_settings):
    referral_settings.device_limit = 2
    referral_settings.save()
    request = RequestFactory().get("/", REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="Phone 1")

    for _n in range(3):
        code = services.referral_code_for(MemberFactory())
        services.attribute(friend=MemberFactory(), code=code.code, source=Source.SIGNUP, request=request)
    services.attribute(friend=MemberFactory(), code=code.code, source=Source.SIGNUP,
                       request=RequestFactory().get("/", REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="Other"))

    assert list(Referral.objects.order_by("pk").values_list("reason", flat=True)) == [
        "", "", Reason.SHARED_DEVICE, ""]


def test_guessing_codes_is_rate_limited(referral_settings, code):
    request = RequestFactory().get("/", REMOTE_ADDR="198.51.100.7")
    for n in range(services.REFERRAL_CODE_LOOKUPS.limit):
        services.attribute(friend=MemberFactory(), code=f"ZZZZ-ZZ{n:02d}", source=Source.SIGNUP,
                           request=request)

    message = services.attribute(friend=MemberFactory(), code=code.code, source=Source.SIGNUP,
                                 request=request)

    assert "Too many referral codes" in message
    assert not Referral.objects.exists()
    assert ReferralIncident.objects.filter(reason=Reason.RATE_LIMITED).count() == 1


def test_purchases_need_not_know_about_referrals(shop, friend, store):
    """With no referral program at all, a purchase is recorded as before."""
    purchase, created = record_purchase(store=store, member=friend, external_id="R1", amount="150")

    assert created and purchase.notices == [] and Purchase.objects.count() == 1


def test_a_code_given_with_a_known_customers_email_is_recorded_not_ignored(referral_settings, code):
    old = MemberFactory(user__email="old@example.org")
    User.objects.filter(pk=old.user_id).update(date_joined=timezone.now() - timedelta(days=400))

    member, created = find_or_enrol_customer(email="old@example.org", referral_code=code.code,
                                             source="api")

    assert (member, created) == (old, False)
    assert not Referral.objects.exists()
    assert reasons() == [Reason.KNOWN_CUSTOMER]


def test_a_code_given_again_for_a_recent_sign_up_still_refers_them(referral_settings, code, referrer):
    recent = MemberFactory(user__email="recent@example.org")

    find_or_enrol_customer(email="recent@example.org", referral_code=code.code, source="api")

    referral = Referral.objects.get()
    assert (referral.referrer, referral.friend, referral.source) == (referrer, recent, Source.API)
