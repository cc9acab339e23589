"""Which changes become which events, with what payload; nothing for a change that rolls back."""

from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from loyalty_site import webhooks
from loyalty_site.models import WebhookDelivery
from loyalty_site.privacy import close_account
from programs.models import Tier
from programs.services import (
    adjust_points,
    find_or_enrol_customer,
    record_purchase,
    redeem_reward,
    refund_purchase,
)
from programs.tiers import set_member_tier
from referrals import services as referral_services
from referrals.models import ReferralProgramSettings
from surveys import services as survey_services
from surveys.models import Survey

from ..factories import MemberFactory

pytestmark = pytest.mark.django_db

ENVELOPE = {"id", "type", "api_version", "created_at", "data"}


def events(event_type=None):
    deliveries = WebhookDelivery.objects.order_by("created_at", "pk")
    if event_type:
        deliveries = deliveries.filter(event_type=event_type)
    return [delivery.payload for delivery in deliveries]


def buy(member, store, amount, receipt="R1"):
    return record_purchase(store=store, member=member, external_id=receipt, amount=Decimal(amount))[0]


def test_a_purchase_announces_the_points_earned(endpoint, shop, store, customer):
    purchase = buy(customer, store, "120")
    [event] = events()
    assert set(event) == ENVELOPE
    assert event["type"] == "points.earned" and event["api_version"] == webhooks.API_VERSION
    data = event["data"]
    assert data["member"] == {"number": customer.number, "email": customer.user.email,
                              "name": customer.user.name}
    assert data["program"] == {"slug": "points", "name": "Points"}
    assert data["entry"]["kind"] == "earn" and data["entry"]["points"] == 120
    assert data["entry"]["balance_after"] == 120
    assert data["purchase"] == {"external_id": purchase.external_id}
    assert data["redemption"] is None
    delivery = WebhookDelivery.objects.get()
    assert (delivery.endpoint, delivery.status, str(delivery.event_id)) == (endpoint, "pending", event["id"])


def test_a_reward_announces_points_spent_and_the_reward_redeemed(endpoint, shop, store, customer, coffee):
    buy(customer, store, "150")
    redemption = redeem_reward(member=customer, reward=coffee)
    [spent] = events("points.spent")
    assert spent["data"]["entry"]["kind"] == "redeem" and spent["data"]["entry"]["points"] == -100
    assert spent["data"]["entry"]["balance_after"] == 50
    assert spent["data"]["redemption"] == {"code": redemption.code}
    [redeemed] = events("reward.redeemed")
    assert redeemed["data"]["reward"] == {"id": coffee.pk, "name": "Coffee", "kind": "free_product"}
    assert redeemed["data"]["redemption"]["code"] == redemption.code
    assert redeemed["data"]["redemption"]["points"] == 100
    assert redeemed["data"]["member"]["number"] == customer.number


def test_refunds_and_adjustments_carry_their_kind(endpoint, shop, store, customer, manager):
    purchase = buy(customer, store, "100")
    refund_purchase(purchase=purchase, external_id="RF1", amount=Decimal("40"))
    adjust_points(member=customer, program=shop, points=5, reason="Sorry for the wait", actor=manager)
    kinds = [(event["type"], event["data"]["entry"]["kind"], event["data"]["entry"]["points"])
             for event in events()]
    assert kinds == [("points.earned", "earn", 100), ("points.spent", "reverse", -40),
                     ("points.earned", "adjust", 5)]
    assert events()[-1]["data"]["entry"]["reason"] == "Sorry for the wait"


def test_tier_changes_by_purchase_and_by_staff(endpoint, shop, store, customer, manager):
    silver = Tier.objects.create(program=shop, name="Silver", rank=1, threshold=500)
    gold = Tier.objects.create(program=shop, name="Gold", rank=2, threshold=1000)
    buy(customer, store, "600")
    set_member_tier(member=customer, program=shop, tier=gold, reason="Friend of the owner", actor=manager)
    up, by_staff = events("tier.changed")
    assert up["data"]["from_tier"] is None
    assert up["data"]["to_tier"] == {"id": silver.pk, "name": "Silver", "rank": 1}
    assert (up["data"]["direction"], up["data"]["reason"]) == ("up", "purchase")
    assert by_staff["data"]["from_tier"]["name"] == "Silver"
    assert by_staff["data"]["to_tier"]["name"] == "Gold" and by_staff["data"]["reason"] == "staff"
    assert by_staff["data"]["member"]["number"] == customer.number


def test_a_referral_qualified_by_the_friends_first_purchase(endpoint, shop, store):
    ReferralProgramSettings.objects.create(
        program=shop, incentive=ReferralProgramSettings.Incentive.BOTH, referrer_points=500,
        friend_points=200, minimum_amount=Decimal("100"), qualify_within_days=30, review_days=14)
    referrer = MemberFactory(user__email="anna@example.com")
    code = referral_services.referral_code_for(referrer)
    friend, _created = find_or_enrol_customer(email="bo@example.org", referral_code=code.code,
                                              source="api")
    purchase = buy(friend, store, "120")
    [event] = events("referral.qualified")
    data = event["data"]
    assert data["referrer"]["number"] == referrer.number
    assert data["friend"]["email"] == "bo@example.org"
    assert data["purchase"] == {"external_id": purchase.external_id, "amount": "120.00",
                                "currency": "SEK"}
    assert data["referral"]["qualified_at"] and data["referral"]["rewards_after"]


def test_a_survey_answer_with_its_comment(endpoint, customer):
    survey = Survey.objects.create(name="How likely to recommend", kind=Survey.Kind.NPS)
    invitation = survey_services.invite(survey=survey, member=customer, send_after=timezone.now())
    survey_services.submit_answers(invitation=invitation, values={"recommend": 9}, comment="Lovely")
    [event] = events("survey.answered")
    data = event["data"]
    assert data["survey"] == {"id": survey.pk, "name": "How likely to recommend", "kind": "nps"}
    assert data["answers"] == {"recommend": 9} and data["comment"] == "Lovely"
    assert data["invitation"]["id"] == invitation.pk and data["invitation"]["answered_at"]
    assert data["member"]["number"] == customer.number


def test_only_endpoints_that_listen_get_an_event(endpoint, manager, receiver, shop, store, customer):
    webhooks.create_endpoint(actor=manager, url=receiver.url + "?b", event_types=["tier.changed"])
    webhooks.create_endpoint(actor=manager, url=receiver.url + "?c", event_types=["points.earned"],
                             is_active=False)
    buy(customer, store, "10")
    assert list(WebhookDelivery.objects.values_list("endpoint", flat=True)) == [endpoint.pk]


def test_nothing_is_written_without_a_listening_endpoint(shop, store, customer):
    buy(customer, store, "10")
    assert not WebhookDelivery.objects.exists()


def test_a_change_that_rolls_back_leaves_no_event_and_sends_nothing(
        endpoint, receiver, shop, store, customer, django_capture_on_commit_callbacks):
    written = []

    def purchase_then_power_cut():
        with transaction.atomic():
            buy(customer, store, "120")
            written.append(WebhookDelivery.objects.count())
            raise RuntimeError("the till lost power")

    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError):
        purchase_then_power_cut()
    assert written == [1]  # written with the purchase…
    assert not WebhookDelivery.objects.exists()  # …and gone with it
    assert callbacks == []
    assert receiver.requests == []


def test_a_committed_change_is_sent_to_the_receiver(endpoint, receiver, shop, store, customer,
                                                     django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        buy(customer, store, "120")
    [request] = receiver.requests
    assert request["headers"]["Patron-Event"] == "points.earned"
    assert WebhookDelivery.objects.get().status == "delivered"


def test_closing_an_account_blanks_the_member_in_payloads(endpoint, customer):
    survey = Survey.objects.create(name="How likely to recommend", kind=Survey.Kind.NPS)
    invitation = survey_services.invite(survey=survey, member=customer, send_after=timezone.now())
    survey_services.submit_answers(invitation=invitation, values={"recommend": 2}, comment="I am Mia")
    other = MemberFactory(user__email="someone@example.com")
    webhooks.publish("survey.answered", [other], lambda members: [
        {"member": {"number": m.number, "email": m.user.email, "name": "Sam"}, "comment": "Hi"}
        for m in members])
    close_account(user=customer.user)
    mine, theirs = events("survey.answered")
    assert mine["data"]["member"] == {"number": customer.number, "email": "", "name": ""}
    assert mine["data"]["comment"] == ""
    assert theirs["data"]["member"]["email"] == "someone@example.com"
    assert theirs["data"]["comment"] == "Hi"
