"""A member sees only their own things: every portal page that names a member's object by its id
answers 404 to another member, for reading and for acting, and changes nothing.

The last test lists every portal URL that takes an argument, so that a new one must be added
here (or to NOT_MEMBER_OWNED with the reason) before the suite passes.
"""

from decimal import Decimal

import pytest
from django.urls import get_resolver, reverse
from django.urls.resolvers import URLResolver

from programs import services, subscriptions
from programs.models import Plan, Redemption, Subscription
from surveys import services as survey_services
from surveys.models import Answer, Survey

from ..factories import MemberFactory

pytestmark = pytest.mark.django_db

# Portal URLs with an argument that does not name something a member owns.
NOT_MEMBER_OWNED = {
    "unsubscribe": "a signed token; forged and expired tokens are tested with the outbox",
    "redeem": "the reward catalog is the same for every member",
    "share_link": "a referral code is public by design; it is the referrer's to share",
    "survey_answer": "a signed, expiring token; tampering is tested with the surveys",
}


@pytest.fixture
def other(shop, store, coffee):
    """Another member, with a code, a survey invitation and a paid-membership subscription."""
    member = MemberFactory()
    services.record_purchase(store=store, member=member, external_id="OTHER-1", amount="500.00")
    code = services.redeem_reward(member=member, reward=coffee)
    survey = Survey.objects.create(name="NPS", kind=Survey.Kind.NPS)
    invitation = survey_services.invite(survey=survey, member=member)
    plan = Plan.objects.create(program=shop, name="VIP", price=Decimal("99.00"), trial_days=14)
    subscription = subscriptions.start_trial(member=member, plan=plan)
    return {"member": member, "code": code, "invitation": invitation, "plan": plan,
            "subscription": subscription}


@pytest.fixture
def intruder(client, db):
    member = MemberFactory()
    client.force_login(member.user)
    return member


def test_another_members_code_is_not_found(client, intruder, other):
    assert client.get(reverse("portal:code", args=[other["code"].pk])).status_code == 404
    assert client.post(reverse("portal:code", args=[other["code"].pk])).status_code in (404, 405)
    assert Redemption.objects.get(pk=other["code"].pk).status == Redemption.Status.ISSUED


def test_another_members_survey_cannot_be_read_or_answered(client, intruder, other):
    url = reverse("portal:survey_member_answer", args=[other["invitation"].pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"nps": "0", "comment": "not mine"}).status_code == 404
    assert not Answer.objects.exists()


def test_another_members_subscription_cannot_be_cancelled_or_changed(client, intruder, other):
    subscription = other["subscription"]
    cancel = reverse("portal:plan_cancel", args=[subscription.pk])
    change = reverse("portal:plan_change", args=[subscription.pk])
    assert client.post(cancel).status_code == 404
    assert client.post(change, {"plan": other["plan"].pk}).status_code == 404
    fresh = Subscription.objects.get(pk=subscription.pk)
    assert (fresh.status, fresh.next_plan_id) == (subscription.status, subscription.next_plan_id)


def test_every_portal_url_with_an_argument_is_covered_here():
    covered = {"code", "survey_member_answer", "plan_cancel", "plan_change"} | set(NOT_MEMBER_OWNED)

    def walk(patterns, namespace=None):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, pattern.namespace or namespace)
            else:
                yield namespace, pattern

    with_arguments = {pattern.name for namespace, pattern in walk(get_resolver().url_patterns)
                      if namespace == "portal" and pattern.pattern.converters}
    assert with_arguments <= covered, f"add a test for: {sorted(with_arguments - covered)}"


def test_the_rewards_catalog_is_shared_but_redeeming_spends_only_my_points(client, intruder, other, coffee):
    """The one portal URL with an object id that is not member-owned still acts on me only."""
    response = client.post(reverse("portal:redeem", args=[coffee.pk]))
    assert response.status_code in (200, 400)
    assert not Redemption.objects.filter(membership__member=intruder).exists()
    assert Redemption.objects.filter(membership__member=other["member"]).count() == 1


def test_a_reward_id_that_does_not_exist_is_not_found(client, intruder):
    assert client.get(reverse("portal:redeem", args=[987654])).status_code == 404
