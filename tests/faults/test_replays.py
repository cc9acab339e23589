"""The same webhook or API request replayed out of order, from parallel connections: whatever
order they arrive in, each effect happens once and every replay gets the first answer.

(Sequential replays and one request copied ten times at once are in tests/plans/test_stripe.py,
tests/plans/test_concurrency.py and tests/programs/test_api.py; these interleave several.)
"""

import json
import random
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from programs import subscriptions
from programs.models import (
    LedgerEntry,
    Plan,
    Program,
    Purchase,
    Refund,
    StripeEvent,
    Subscription,
    SubscriptionPayment,
)
from programs.selectors import ledger_breaches
from programs.services import change_earning_rule, create_api_key

from ..conftest import needs_postgres
from ..factories import MemberFactory, StoreFactory
from ..parallel import run_in_parallel
from ..plans.test_stripe import SECRET, invoice_event, signed

pytestmark = [pytest.mark.faults, needs_postgres(), pytest.mark.django_db(transaction=True)]

DAY = 24 * 3600


@pytest.fixture
def program(settings):
    settings.SHOP_CURRENCY = "SEK"
    program = Program.objects.create(name="Points", slug="points", kind=Program.Kind.SPEND,
                                     pending_days=0)
    change_earning_rule(program=program, actor=None, points_per_unit=Decimal("1"),
                        effective_from=timezone.now() - timedelta(days=1))
    return program


def shuffled(deliveries):
    deliveries = list(deliveries)
    random.shuffle(deliveries)
    return deliveries


def post_webhook(event):
    payload = json.dumps(event)
    return Client().post(reverse("portal:stripe_webhook"), payload, content_type="application/json",
                         HTTP_STRIPE_SIGNATURE=signed(payload))


@pytest.fixture
def stripe_keys(settings):
    settings.STRIPE_SECRET_KEY, settings.STRIPE_WEBHOOK_SECRET = "sk_test_123", SECRET


def test_renewals_delivered_three_times_each_in_any_order_pay_each_period_once(
        program, stripe_keys):
    plan = Plan.objects.create(program=program, name="VIP", price=Decimal("99.00"), bonus_points=50)
    member, start = MemberFactory(), int(time.time())
    assert post_webhook(invoice_event("evt_1", customer=member, plan=plan, start=start)).status_code == 200
    renewals = [invoice_event(f"evt_{n}", start=start + (n - 1) * 30 * DAY, created=start + n)
                for n in (2, 3)]

    deliveries = shuffled(renewals * 3)
    answers = run_in_parallel(6, lambda i: post_webhook(deliveries[i]).status_code)

    assert answers == [200] * 6
    # Each event is processed once. A renewal that loses the race to the later one is stale
    # (its period is covered): the payment that counts is never taken twice.
    assert StripeEvent.objects.count() == 3
    payments = SubscriptionPayment.objects.count()
    assert payments in (2, 3)
    # Once the paid periods have begun, each has its bonus, once.
    subscriptions.credit_due_bonuses(now=timezone.now() + timedelta(days=91))
    assert LedgerEntry.objects.filter(cause_key__startswith="plan-period:").count() == payments
    subscription = Subscription.objects.get()
    assert subscription.period_end.timestamp() == start + 90 * DAY
    assert list(ledger_breaches()) == []


def test_the_first_invoice_under_two_event_ids_at_once_joins_once(program, stripe_keys):
    plan = Plan.objects.create(program=program, name="VIP", price=Decimal("99.00"), bonus_points=50)
    member, start = MemberFactory(), int(time.time())
    events = [invoice_event(event_id, customer=member, plan=plan, start=start)
              for event_id in ("evt_a", "evt_b")]

    deliveries = shuffled(events * 3)
    answers = run_in_parallel(6, lambda i: post_webhook(deliveries[i]).status_code)

    assert answers == [200] * 6
    assert StripeEvent.objects.count() == 2
    assert Subscription.objects.count() == 1 and SubscriptionPayment.objects.count() == 1
    assert LedgerEntry.objects.filter(cause_key__startswith="plan-period:").count() == 1


def test_a_purchase_and_its_refund_replayed_out_of_order_change_nothing_more(program):
    store, member = StoreFactory(), MemberFactory()
    api_key = create_api_key(store=store)[1]

    def send(path, body, key):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")
        return client.post(f"/api/v1/{path}", body, format="json",
                           headers={"Idempotency-Key": key} if key else {})

    purchase = ("purchases", {"member": member.number, "external_id": "R-1", "amount": "200.00",
                              "currency": "SEK"}, "buy-1")
    refund = ("purchases/R-1/refunds", {"external_id": "RF-1", "amount": "50.00"}, "refund-1")
    first = {request[2]: send(*request) for request in (purchase, refund)}
    assert [answer.status_code for answer in first.values()] == [201, 201], first
    balance = member.memberships.get().balance

    # Replays of both, the refund's often before the purchase's, and the same receipt under a
    # key the till made up after a crash: none of them may earn or refund again.
    requests = shuffled([purchase, refund] * 4 + [(*purchase[:2], "buy-1-after-crash")])
    answers = run_in_parallel(len(requests), lambda i: (requests[i][2], send(*requests[i])))

    for key, answer in answers:
        if key in first:
            assert answer.status_code == first[key].status_code, answer.content
            assert answer.json() == first[key].json()
            assert answer["Idempotent-Replayed"] == "true"
        else:
            assert answer.status_code == 200 and answer.json()["created"] is False, answer.content
    assert Purchase.objects.count() == 1 and Refund.objects.count() == 1
    assert member.memberships.get().balance == balance == 150
    assert list(ledger_breaches()) == []
