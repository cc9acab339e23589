"""Real parallel connections on PostgreSQL: a period is paid, and its bonus credited, once."""

import hashlib
import hmac
import json
import time
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from programs import subscriptions
from programs.models import (
    LedgerEntry,
    Plan,
    Program,
    StripeEvent,
    Subscription,
    SubscriptionPayment,
)
from programs.subscriptions import SubscriptionError

from ..conftest import needs_postgres
from ..factories import MemberFactory
from ..parallel import run_in_parallel

pytestmark = [needs_postgres(), pytest.mark.django_db(transaction=True)]


@pytest.fixture
def setup(settings):
    settings.SHOP_CURRENCY = "SEK"
    program = Program.objects.create(name="Points", slug="points")
    plan = Plan.objects.create(program=program, name="VIP", price=Decimal("99.00"), bonus_points=50)
    return plan, MemberFactory()


def test_ten_cashiers_joining_one_member_at_once_take_one_payment(setup):
    plan, member = setup
    outcomes = run_in_parallel(10, lambda i: subscriptions.record_subscription_payment(
        member=member, plan=plan, amount="99.00", method="cash"))
    paid = [o for o in outcomes if isinstance(o, SubscriptionPayment)]
    refused = [o for o in outcomes if isinstance(o, SubscriptionError)]
    assert len(paid) == 1 and len(refused) == 9, outcomes
    assert Subscription.objects.count() == 1 and SubscriptionPayment.objects.count() == 1
    assert LedgerEntry.objects.filter(cause_key__startswith="plan-period:").count() == 1


def test_one_webhook_delivered_ten_times_at_once_pays_once(setup, settings):
    plan, member = setup
    settings.STRIPE_SECRET_KEY, settings.STRIPE_WEBHOOK_SECRET = "sk_test", "whsec_test"
    start = int(time.time())
    payload = json.dumps({"id": "evt_1", "type": "invoice.paid", "created": start, "data": {"object": {
        "id": "in_1", "amount_paid": 9900, "currency": "sek",
        "parent": {"subscription_details": {"subscription": "sub_1", "metadata": {
            "patron_member": member.number, "patron_plan": str(plan.pk)}}},
        "lines": {"data": [{"period": {"start": start, "end": start + 30 * 86400}}]}}}})
    digest = hmac.new(b"whsec_test", f"{start}.{payload}".encode(), hashlib.sha256).hexdigest()

    def deliver(_i):
        return Client().post(reverse("portal:stripe_webhook"), payload,
                             content_type="application/json",
                             HTTP_STRIPE_SIGNATURE=f"t={start},v1={digest}").status_code

    assert run_in_parallel(10, deliver) == [200] * 10
    assert StripeEvent.objects.count() == 1 and SubscriptionPayment.objects.count() == 1
    assert LedgerEntry.objects.filter(cause_key__startswith="plan-period:").count() == 1
