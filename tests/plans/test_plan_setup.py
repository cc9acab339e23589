"""Managers set up plans on a staff screen: create, change, retire; a new price applies from each
subscriber's next payment; bad input gets a clear message and saves nothing."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from loyalty_site.models import StaffAction
from programs import subscriptions
from programs.models import Plan, Subscription, SubscriptionPayment
from programs.subscriptions import SubscriptionError

from .test_stripe import deliver, invoice_event

FIELDS = {"name": "Gold club", "price": "149,50", "period": "year", "trial_days": "30",
          "grace_days": "7", "multiplier": "1.5", "bonus_points": "500",
          "perks": "Free parking", "is_active": "on"}


def form(page):
    return page.content.decode()


def test_a_manager_creates_a_plan_and_members_can_join_it(client, shop, manager,
                                                         django_assert_max_num_queries):
    client.force_login(manager)
    response = client.post(reverse("staff:plans_new"), {**FIELDS, "program": shop.pk}, follow=True)
    assert "Plan “Gold club” saved." in form(response)
    plan = Plan.objects.get()
    assert (plan.program, plan.price, plan.period, plan.trial_days, plan.multiplier,
            plan.bonus_points, plan.perks, plan.is_active) == (
        shop, Decimal("149.50"), "year", 30, Decimal("1.5"), 500, "Free parking", True)
    assert StaffAction.objects.get(action="programs.plan.created").actor == manager
    assert plan in subscriptions.open_plans()
    with django_assert_max_num_queries(8):
        listing = form(client.get(reverse("staff:plans_setup")))
    assert "Gold club" in listing and reverse("staff:plans_edit", args=[plan.pk]) in listing


@pytest.mark.parametrize(("field", "value", "message"), [
    ("name", " ", "This field is required."),
    ("price", "0", "The amount must be more than zero."),
    ("price", "12.345", "SEK amounts have at most 2 decimal places."),
    ("price", "twelve", "Enter an amount such as 12.50."),
    ("multiplier", "0.5", "Enter a multiplier from 1 to 10"),
    ("multiplier", "11", "Enter a multiplier from 1 to 10"),
    ("trial_days", "400", "less than or equal to 365"),
    ("grace_days", "-1", "greater than or equal to 0"),
    ("bonus_points", "2000000", "less than or equal to 1000000"),
    ("period", "week", "Select a valid choice"),
])
def test_bad_input_is_refused_with_a_clear_message_and_nothing_saved(client, shop, manager, field,
                                                                     value, message):
    client.force_login(manager)
    response = client.post(reverse("staff:plans_new"), {**FIELDS, "program": shop.pk, field: value})
    assert response.status_code == 400
    assert message in form(response)
    assert not Plan.objects.exists()


def test_two_plans_of_a_program_cannot_share_a_name(client, shop, manager, vip):
    client.force_login(manager)
    response = client.post(reverse("staff:plans_new"), {**FIELDS, "program": shop.pk, "name": "vip"})
    assert "Points has a plan called vip already." in form(response)
    assert Plan.objects.count() == 1


def test_a_new_price_applies_from_each_subscribers_next_payment(client, shop, customer, vip, manager):
    now = timezone.now()
    paid = subscriptions.record_subscription_payment(member=customer, plan=vip, amount="99.00",
                                                     method="cash", now=now)
    client.force_login(manager)
    edit = reverse("staff:plans_edit", args=[vip.pk])
    assert 'value="99.00"' in form(client.get(edit))
    client.post(edit, {**FIELDS, "name": "VIP", "price": "129.00", "period": "month"})
    vip.refresh_from_db()
    assert vip.price == Decimal("129.00")
    action = StaffAction.objects.get(action="programs.plan.changed")
    assert action.data["price_before"] == "99.00" and action.data["price"] == "129.00"

    # The month paid stays paid at the old price; the portal shows the new one as next.
    client.force_login(customer.user)
    page = form(client.get(reverse("portal:plans")))
    assert "129" in page.split("Next payment")[1].split("</p>")[0]
    renewal = paid.period_end - timedelta(days=2)
    with pytest.raises(SubscriptionError, match="VIP costs"):
        subscriptions.record_subscription_payment(member=customer, plan=vip, amount="99.00",
                                                  method="cash", now=renewal)
    subscriptions.record_subscription_payment(member=customer, plan=vip, amount="129.00",
                                              method="cash", now=renewal)
    assert list(SubscriptionPayment.objects.order_by("period_start").values_list("amount", flat=True)) == [
        Decimal("99.00"), Decimal("129.00")]


def test_retiring_a_plan_keeps_its_subscribers(client, shop, customer, member, vip, manager):
    paid = subscriptions.record_subscription_payment(member=customer, plan=vip, amount="99.00",
                                                     method="cash")
    client.force_login(manager)
    fields = {**FIELDS, "name": "VIP", "price": "99.00", "period": "month"}
    del fields["is_active"]
    client.post(reverse("staff:plans_edit", args=[vip.pk]), fields)
    vip.refresh_from_db()
    assert not vip.is_active and vip not in subscriptions.open_plans()
    listing = form(client.get(reverse("staff:plans_setup")))
    assert "retired" in listing
    assert listing.split(f'data-testid="plan-{vip.pk}"')[1].split("</tr>")[0].rstrip().endswith(
        '<td data-label="Subscribers" class="number">1</td>')
    with pytest.raises(SubscriptionError, match="no new subscribers"):
        subscriptions.record_subscription_payment(member=member, plan=vip, amount="99.00",
                                                  method="cash")
    subscriptions.record_subscription_payment(member=customer, plan=vip, amount="99.00",
                                              method="card",
                                              now=paid.period_end - timedelta(days=1))
    assert Subscription.objects.get().status == "active"


def test_price_and_period_stay_while_members_pay_online(client, keys, shop, customer, vip,
                                                       manager):
    deliver(client, invoice_event("evt_1", customer=customer, plan=vip))
    client.force_login(manager)
    edit = reverse("staff:plans_edit", args=[vip.pk])
    response = client.post(edit, {**FIELDS, "name": "VIP", "price": "129.00", "period": "month"})
    assert response.status_code == 400
    assert "Members pay for VIP online" in form(response)
    vip.refresh_from_db()
    assert vip.price == Decimal("99.00")
    # Everything else may change.
    client.post(edit, {**FIELDS, "name": "VIP", "price": "99.00", "period": "month"})
    vip.refresh_from_db()
    assert vip.bonus_points == 500 and vip.perks == "Free parking"


@pytest.mark.parametrize("url", ["staff:plans_setup", "staff:plans_new"])
def test_only_managers_set_up_plans(client, cashier, shop, url):
    client.force_login(cashier)
    assert client.get(reverse(url)).status_code == 403
    assert client.post(reverse("staff:plans_new"), {**FIELDS, "program": shop.pk}).status_code == 403
    assert not Plan.objects.exists()
