"""The plans pages as members and staff meet them: comparison, join, status, cancel, receipts;
subscribers, payments at the till, comps and the figures. Bounded queries; no one sees another
member's subscription."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from programs import subscriptions
from programs.models import Subscription, SubscriptionPayment

from ..factories import MemberFactory

Status = Subscription.Status


def join(member, plan, now=None):
    return subscriptions.record_subscription_payment(
        member=member, plan=plan, amount=plan.price, currency="SEK", method="cash", now=now,
    ).subscription


def test_the_plans_page_compares_plans_and_shows_status_next_payment_and_receipts(
        client, shop, customer, vip, vip_plus, trial_plan, django_assert_max_num_queries):
    subscription = join(customer, vip)
    client.force_login(customer.user)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("portal:plans")).content.decode()
    assert "VIP Plus" in page and "Free coffee refills" in page and "×2" in page
    assert "Your plan: VIP" in page and "Paid until" in page
    assert "99.00" in page or "99,00" in page
    assert f"plan-{trial_plan.pk}" in page and "Start free trial" not in page.split(
        f'data-testid="plan-{trial_plan.pk}"')[1].split("</tr>")[0]
    # No Stripe keys: no online payment.
    assert "Pay online" not in page
    assert reverse("portal:plan_cancel", args=[subscription.pk]) in page


def test_more_subscriptions_and_receipts_do_not_cost_more_queries(
        client, shop, customer, vip, django_assert_max_num_queries):
    client.force_login(customer.user)
    join(customer, vip, now=timezone.now() - timedelta(days=90))
    with django_assert_max_num_queries(12) as few:
        client.get(reverse("portal:plans"))
    subscription = Subscription.objects.get()
    for days in (62, 31):
        subscriptions.record_subscription_payment(
            member=customer, plan=vip, amount="99.00", method="card",
            now=subscription.period_end - timedelta(days=1) if days else None)
        subscription.refresh_from_db()
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("portal:plans"))


def test_a_member_starts_a_trial_and_cancels_twice_with_a_clear_message(client, shop, customer,
                                                                          trial_plan):
    client.force_login(customer.user)
    response = client.post(reverse("portal:plan_trial"), {"plan": trial_plan.pk}, follow=True)
    assert "Your free trial has started." in response.content.decode()
    subscription = Subscription.objects.get()
    assert subscription.status == Status.TRIALING
    url = reverse("portal:plan_cancel", args=[subscription.pk])
    first = client.post(url, follow=True).content.decode()
    assert "Cancelled: your benefits go on until" in first
    second = client.post(url, follow=True).content.decode()
    assert "Already cancelled: it ends on" in second
    assert subscription.events.count() == 2


def test_another_members_subscription_is_never_visible_or_cancellable(client, shop, customer,
                                                                      vip):
    subscription = join(customer, vip)
    other = MemberFactory()
    client.force_login(other.user)
    page = client.get(reverse("portal:plans")).content.decode()
    assert "Your plan" not in page and "No payments yet." in page
    assert client.post(reverse("portal:plan_cancel", args=[subscription.pk])).status_code == 404
    assert client.post(reverse("portal:plan_change", args=[subscription.pk]),
                       {"plan": vip.pk}).status_code == 404
    subscription.refresh_from_db()
    assert subscription.status == Status.ACTIVE


def test_staff_list_subscribers_by_status_with_figures(client, shop, customer, vip, manager,
                                                       django_assert_max_num_queries):
    join(customer, vip)
    for _ in range(3):
        join(MemberFactory(), vip)
    trial = MemberFactory()
    client.force_login(manager)
    url = reverse("staff:plan_subscribers")
    with django_assert_max_num_queries(16):
        page = client.get(url).content.decode()
    assert 'data-testid="active-subscribers">4<' in page
    assert "396" in page  # monthly recurring revenue: 4 × 99 kr
    assert trial.number not in page
    filtered = client.get(url, {"status": "past_due"}).content.decode()
    assert "No subscribers." in filtered


def test_a_cashier_takes_a_payment_at_the_till_and_a_wrong_amount_is_refused(
        client, shop, customer, vip, cashier):
    client.force_login(cashier)
    url = reverse("staff:plan_record_payment")
    refused = client.post(url, {"number": customer.number, "plan": vip.pk, "amount": "90",
                                "method": "cash"}, follow=True).content.decode()
    assert "not the right amount" in refused
    assert not Subscription.objects.exists()
    response = client.post(url, {"number": customer.number, "plan": vip.pk, "amount": "99.00",
                                 "method": "card", "reference": "T-1"}, follow=True)
    assert "Payment recorded" in response.content.decode()
    payment = SubscriptionPayment.objects.get()
    assert payment.actor == cashier and payment.reference == "T-1" and payment.method == "card"
    # The cashier sees the subscription page but not the comp form; a comp is refused.
    page = client.get(reverse("staff:plan_subscription", args=[payment.subscription_id]))
    assert "Give a period free" not in page.content.decode()
    comp = client.post(reverse("staff:plan_comp", args=[payment.subscription_id]), {"reason": "x"})
    assert comp.status_code == 403


def test_a_manager_comps_a_period_from_the_subscription_page(client, shop, customer, vip, manager,
                                                             django_assert_max_num_queries):
    subscription = join(customer, vip, now=timezone.now() - timedelta(days=31))
    subscriptions.advance_subscriptions()
    client.force_login(manager)
    with django_assert_max_num_queries(12):
        page = client.get(reverse("staff:plan_subscription", args=[subscription.pk]))
    assert "Payment overdue" in page.content.decode()
    response = client.post(reverse("staff:plan_comp", args=[subscription.pk]),
                           {"reason": "Till was down"}, follow=True)
    assert "The period is given free." in response.content.decode()
    assert "Period given free: Till was down" in response.content.decode()
    subscription.refresh_from_db()
    assert subscription.status == Status.ACTIVE


@pytest.mark.parametrize("name", ["staff:plan_subscribers"])
def test_members_cannot_open_staff_plan_pages(client, member, name):
    client.force_login(member.user)
    assert client.get(reverse(name)).status_code == 403


def test_the_status_filters_and_every_figure_show_what_happened(client, shop, customer, member, vip,
                                                                 manager):
    now = timezone.now()
    overdue = join(customer, vip, now=now - timedelta(days=35))  # past due, in its grace
    lapsing = join(member, vip, now=now - timedelta(days=40))  # past due, and its grace is over
    subscriptions.advance_subscriptions(now=now)
    fresh = join(MemberFactory(), vip, now=now - timedelta(days=2))
    client.force_login(manager)
    url = reverse("staff:plan_subscribers")
    rows = {status: client.get(url, {"status": status}).content.decode()
            for status in ("past_due", "active", "lapsed")}
    assert f"subscriber-{overdue.pk}" in rows["past_due"] and f"subscriber-{fresh.pk}" not in rows["past_due"]
    assert f"subscriber-{fresh.pk}" in rows["active"] and f"subscriber-{overdue.pk}" not in rows["active"]
    assert f"subscriber-{lapsing.pk}" in rows["lapsed"]
    page = client.get(url).content.decode()
    # Only the newest paid in the last 30 days; of the two covered 30 days ago, one lapsed.
    assert "99" in page.split('data-testid="revenue">')[1].split("<")[0]
    assert 'data-testid="churn">50 %<' in page


def test_a_comp_without_a_reason_is_refused_on_the_page_and_changes_nothing(client, shop, customer,
                                                                            vip, manager):
    subscription = join(customer, vip, now=timezone.now() - timedelta(days=31))
    subscriptions.advance_subscriptions()
    client.force_login(manager)
    response = client.post(reverse("staff:plan_comp", args=[subscription.pk]), {"reason": "  "},
                           follow=True)
    assert "Say why this period is given free." in response.content.decode()
    assert subscription.payments.count() == 1
    subscription.refresh_from_db()
    assert subscription.status == Status.PAST_DUE
