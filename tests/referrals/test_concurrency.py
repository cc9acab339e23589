"""Real parallel connections on PostgreSQL: a referrer's caps hold under qualifying purchases
made at the same moment by many friends."""

import time
from decimal import Decimal

import pytest

from programs.models import LedgerEntry
from programs.services import find_or_enrol_customer, record_purchase
from referrals import services
from referrals.models import Reason, Referral

from ..conftest import needs_postgres
from ..parallel import run_in_parallel

pytestmark = [needs_postgres(), pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize(("cap_field", "reason"), [("cap_total", Reason.CAP_TOTAL),
                                                   ("cap_per_month", Reason.CAP_MONTH)])
def test_twelve_friends_qualifying_at_once_never_exceed_a_cap_of_three(
        referral_settings, code, store, cap_field, reason, monkeypatch):
    setattr(referral_settings, cap_field, 3)
    referral_settings.burst_limit = 100
    referral_settings.minimum_amount = Decimal("1000")
    referral_settings.save()
    friends = [find_or_enrol_customer(email=f"friend{n}@example.org", referral_code=code.code,
                                      source="api")[0] for n in range(12)]
    # The purchases are recorded below the minimum, then the minimum is lowered and the twelve
    # qualify at once: record_purchase itself may serialise purchases, qualify must not rely on it.
    purchases = [record_purchase(store=store, member=friend, external_id=f"R{n}", amount="150.00")[0]
                 for n, friend in enumerate(friends)]
    referral_settings.minimum_amount = Decimal("100")
    referral_settings.save()
    counted = services._cap_reason

    def slow_cap_reason(*args):
        # Widen the gap between counting and writing, where a missing lock would let every
        # purchase see room under the cap.
        found = counted(*args)
        time.sleep(0.1)
        return found

    monkeypatch.setattr(services, "_cap_reason", slow_cap_reason)

    outcomes = run_in_parallel(12, lambda i: services.qualify(purchase=purchases[i]))

    assert all(isinstance(o, list) for o in outcomes), outcomes
    assert Referral.objects.filter(status=Referral.Status.QUALIFIED).count() == 3
    assert Referral.objects.filter(status=Referral.Status.REFUSED, reason=reason).count() == 9


def test_parallel_payout_runs_pay_each_referral_once(referral_settings, code, store):
    referral_settings.milestone_every = 2
    referral_settings.milestone_points = 1000
    referral_settings.save()
    for n in range(4):
        friend = find_or_enrol_customer(email=f"friend{n}@example.org", referral_code=code.code,
                                        source="api")[0]
        record_purchase(store=store, member=friend, external_id=f"R{n}", amount="150.00")
    due = max(Referral.objects.values_list("pay_after", flat=True))

    outcomes = run_in_parallel(4, lambda i: services.run_referral_schedule(now=due))

    assert all(isinstance(o, dict) for o in outcomes), outcomes
    keys = list(LedgerEntry.objects.filter(membership__member=code.member)
                .values_list("cause_key", flat=True))
    assert len(keys) == len(set(keys)) == 4 + 2
