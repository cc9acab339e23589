"""Plan-only rewards: redeemable only by subscribers of their plans whose benefits apply —
trialing, active, past due within the grace period, cancelled until the period ends — through
the service, the portal, the till and the API; shown to everyone else with a way to join."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from programs import services, subscriptions
from programs.admin import RewardAdminForm
from programs.models import Membership, Plan, Program, Redemption, Reward
from programs.selectors import points_overview
from programs.services import PointsError, redeem_reward

NOW = timezone.now()


@pytest.fixture
def lounge(shop, vip):
    reward = Reward.objects.create(program=shop, name="VIP lounge", kind=Reward.Kind.EXPERIENCE,
                                   cost=100, stock=5)
    reward.plans.set([vip])
    return reward


def give_points(member, program, points=500):
    services.grant_points(member=member, program=program, points=points,
                          cause_key=f"test:{member.pk}", now=NOW - timedelta(days=60))


def join(member, plan, at):
    return subscriptions.record_subscription_payment(
        member=member, plan=plan, amount=plan.price, method="cash", now=at).subscription


def trialing(member, plan, trial_plan):
    subscriptions.start_trial(member=member, plan=trial_plan, now=NOW - timedelta(days=1))


def active(member, plan, trial_plan):
    join(member, plan, NOW - timedelta(days=1))


def overdue(member, plan, paid_days_ago):
    """Paid once, `paid_days_ago`; the hourly task has made it past due and not run since."""
    subscription = join(member, plan, NOW - timedelta(days=paid_days_ago))
    subscriptions.advance_subscriptions(now=subscription.period_end + timedelta(hours=1))


def cancelled(member, plan, paid_days_ago):
    subscription = join(member, plan, NOW - timedelta(days=paid_days_ago))
    subscriptions.cancel_subscription(subscription=subscription, now=subscription.started_at)


def past_due_within_grace(member, plan, trial_plan):
    overdue(member, plan, 33)


def past_due_beyond_grace(member, plan, trial_plan):
    # The hourly task has not lapsed it yet: the grace period's end counts all the same.
    overdue(member, plan, 45)


def cancelled_until_the_end(member, plan, trial_plan):
    cancelled(member, plan, 5)


def cancelled_after_the_end(member, plan, trial_plan):
    cancelled(member, plan, 40)


def lapsed(member, plan, trial_plan):
    cancelled(member, plan, 40)
    subscriptions.advance_subscriptions(now=NOW)


def no_subscription(member, plan, trial_plan):
    pass


def another_plan(member, plan, trial_plan):
    join(member, Plan.objects.create(program=plan.program, name="Basic", price=Decimal("19.00")),
         NOW - timedelta(days=1))


@pytest.mark.parametrize("standing", [trialing, active, past_due_within_grace,
                                      cancelled_until_the_end])
def test_subscribers_whose_benefits_apply_redeem_a_plan_only_reward(shop, customer, vip,
                                                                    trial_plan, lounge, standing):
    lounge.plans.add(trial_plan)
    give_points(customer, shop)
    standing(customer, vip, trial_plan)
    redemption = redeem_reward(member=customer, reward=lounge, now=NOW)
    assert redemption.points == 100


@pytest.mark.parametrize("standing", [lapsed, past_due_beyond_grace, cancelled_after_the_end,
                                      no_subscription, another_plan])
def test_anyone_else_is_refused_clearly_and_nothing_is_written(shop, customer, vip, trial_plan,
                                                               lounge, standing):
    give_points(customer, shop)
    standing(customer, vip, trial_plan)
    membership = Membership.objects.get(member=customer, program=shop)
    with pytest.raises(PointsError) as refused:
        redeem_reward(member=customer, reward=lounge, now=NOW)
    assert refused.value.message_dict == {"reward": ["This reward is for VIP members."]}
    assert not Redemption.objects.exists()
    lounge.refresh_from_db()
    assert lounge.stock == 5
    after = Membership.objects.get(pk=membership.pk)
    assert (after.balance, after.available) == (membership.balance, membership.available)


def test_a_reward_for_two_plans_names_both(shop, customer, vip, vip_plus, lounge):
    lounge.plans.add(vip_plus)
    give_points(customer, shop)
    with pytest.raises(PointsError, match="for VIP or VIP Plus members"):
        redeem_reward(member=customer, reward=lounge)


def test_the_portal_shows_who_a_reward_is_for_with_a_way_to_join(
        client, shop, customer, vip, lounge, django_assert_max_num_queries):
    give_points(customer, shop)
    client.force_login(customer.user)
    with django_assert_max_num_queries(7):
        page = client.get(reverse("portal:rewards")).content.decode()
    card = page.split(f'data-testid="reward-{lounge.pk}"')[1].split("</li>")[0]
    assert "For VIP members" in card and "This reward is for VIP members." in card
    assert reverse("portal:plans") in card
    assert reverse("portal:redeem", args=[lounge.pk]) not in card
    confirm = client.get(reverse("portal:redeem", args=[lounge.pk])).content.decode()
    assert "This reward is for VIP members." in confirm and "data-submit-once" not in confirm
    refused = client.post(reverse("portal:redeem", args=[lounge.pk]))
    assert refused.status_code == 400 and not Redemption.objects.exists()
    # The home page counts only rewards the member can redeem.
    assert points_overview(customer)[0]["affordable"] == 0

    active(customer, vip, None)
    page = client.get(reverse("portal:rewards")).content.decode()
    card = page.split(f'data-testid="reward-{lounge.pk}"')[1].split("</li>")[0]
    assert "For VIP members" in card and reverse("portal:redeem", args=[lounge.pk]) in card
    assert points_overview(customer)[0]["affordable"] == 1
    response = client.post(reverse("portal:redeem", args=[lounge.pk]))
    assert response.status_code == 302 and Redemption.objects.count() == 1


def test_more_plan_only_rewards_do_not_cost_more_queries(client, shop, customer, vip, vip_plus,
                                                         lounge, django_assert_max_num_queries):
    client.force_login(customer.user)
    with django_assert_max_num_queries(7) as few:
        client.get(reverse("portal:rewards"))
    for n in range(5):
        reward = Reward.objects.create(program=shop, name=f"Extra {n}", kind="experience", cost=10)
        reward.plans.set([vip, vip_plus])
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("portal:rewards"))


def test_the_till_refuses_a_plan_only_reward_for_a_member_without_the_plan(client, shop, customer,
                                                                           cashier, lounge):
    give_points(customer, shop)
    client.force_login(cashier)
    page = client.post(reverse("staff:till_redeem", args=[customer.number]),
                       {"redeem-reward": lounge.pk}, follow=True).content.decode()
    assert "This reward is for VIP members." in page
    assert not Redemption.objects.exists()


def test_the_api_refuses_a_plan_only_reward_with_409(shop, store, customer, vip, lounge):
    give_points(customer, shop)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {services.create_api_key(store=store, name='t')[1]}")
    body = {"member": customer.number, "reward": lounge.pk}
    response = client.post("/api/v1/redemptions", body, format="json")
    assert response.status_code == 409
    assert "This reward is for VIP members." in str(response.json())
    assert not Redemption.objects.exists()
    active(customer, vip, None)
    assert client.post("/api/v1/redemptions", body, format="json").status_code == 201


def test_reward_editing_refuses_plans_of_another_program(shop, vip):
    other = Program.objects.create(name="Stamps", slug="stamps")
    elsewhere = Plan.objects.create(program=other, name="Stamp club", price=Decimal("10.00"))
    data = {"program": shop.pk, "name": "Lounge", "kind": "experience", "cost": 100,
            "code_valid_days": 30, "is_active": True}
    refused = RewardAdminForm(data | {"plans": [elsewhere.pk]})
    assert not refused.is_valid()
    assert refused.errors["plans"] == ["Choose plans of the reward's program."]
    form = RewardAdminForm(data | {"plans": [vip.pk]})
    assert form.is_valid(), form.errors
    assert list(form.save().plans.all()) == [vip]

