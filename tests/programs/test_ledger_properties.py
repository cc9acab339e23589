"""Property-based: any sequence of earn, refund, redeem, cancel, pay, adjust, release and expire
keeps the ledger invariant, and the balance always equals what a simple model of it says."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from programs import services
from programs.models import Membership, PointLot, Program, Reward
from programs.selectors import ledger_breaches

from ..factories import MemberFactory, StoreFactory, UserFactory

pytestmark = pytest.mark.django_db


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.now = timezone.now() - timedelta(days=1000)
        n = Program.objects.count()
        self.program = Program.objects.create(
            name="Points", slug=f"points-{n}", pending_days=7, expiry=Program.Expiry.AFTER_EARNING,
            expiry_months=3, point_value=Decimal("0.05"))
        services.change_earning_rule(program=self.program, actor=None, points_per_unit=Decimal("1"),
                                     effective_from=self.now - timedelta(days=1))
        # Other programs from earlier examples are switched off so this one stands alone.
        Program.objects.exclude(pk=self.program.pk).update(is_active=False)
        self.store = StoreFactory(code=f"store-{n}")
        self.member = MemberFactory()
        self.manager = UserFactory(role="manager")
        self.reward = Reward.objects.create(program=self.program, name="R", kind="free_product",
                                            cost=40, stock=3)
        self.purchases = []
        self.redemptions = []
        self.expected_balance = 0
        self.receipts = 0

    def membership(self):
        return Membership.objects.filter(member=self.member, program=self.program).first()

    @rule(amount=st.integers(min_value=1, max_value=50000))
    def earn(self, amount):
        self.receipts += 1
        purchase, _ = services.record_purchase(
            store=self.store, member=self.member, external_id=f"R{self.receipts}",
            amount=Decimal(amount) / 100, now=self.now)
        self.purchases.append(purchase)
        self.expected_balance += amount // 100

    @precondition(lambda self: self.purchases)
    @rule(data=st.data())
    def refund(self, data):
        purchase = data.draw(st.sampled_from(self.purchases))
        purchase.refresh_from_db()
        left = purchase.amount - sum(r.amount for r in purchase.refunds.all())
        if left <= 0:
            return
        cents = data.draw(st.integers(min_value=1, max_value=int(left * 100)))
        before = self.membership().balance
        self.receipts += 1
        services.refund_purchase(purchase=purchase, external_id=f"F{self.receipts}",
                                 amount=Decimal(cents) / 100, now=self.now)
        self.expected_balance += self.membership().balance - before
        assert self.membership().balance <= before

    @rule()
    def redeem(self):
        try:
            self.redemptions.append(services.redeem_reward(member=self.member, reward=self.reward,
                                                           now=self.now))
            self.expected_balance -= 40
        except services.PointsError:
            pass

    @precondition(lambda self: self.redemptions)
    @rule(data=st.data())
    def cancel(self, data):
        redemption = data.draw(st.sampled_from(self.redemptions))
        redemption.refresh_from_db()
        if redemption.status == "issued":
            services.cancel_redemption(redemption=redemption, now=self.now)
            self.expected_balance += 40

    @rule(points=st.integers(min_value=1, max_value=300))
    def pay(self, points):
        try:
            services.pay_with_points(member=self.member, program=self.program, points=points,
                                     store=self.store, now=self.now)
            self.expected_balance -= points
        except services.PointsError:
            pass

    @rule(points=st.integers(min_value=-300, max_value=300).filter(bool))
    def adjust(self, points):
        try:
            services.adjust_points(member=self.member, program=self.program, points=points,
                                   reason="test", actor=self.manager, now=self.now)
            self.expected_balance += points
        except services.PointsError:
            pass

    @rule(days=st.integers(min_value=1, max_value=120))
    def time_passes(self, days):
        self.now += timedelta(days=days)
        services.release_pending_points(now=self.now)
        before = self.membership().balance if self.membership() else 0
        # Expiry runs for every membership in the database, earlier examples' ones too.
        _lots, points = services.expire_points(now=self.now)
        after = self.membership().balance if self.membership() else 0
        assert 0 <= before - after <= points
        self.expected_balance -= before - after

    @invariant()
    def ledger_adds_up(self):
        assert list(ledger_breaches()) == []
        membership = self.membership()
        balance = membership.balance if membership else 0
        assert balance == self.expected_balance
        assert not PointLot.objects.filter(remaining__lt=0).exists()
        if membership:
            assert membership.available <= max(balance, 0) or membership.points_owed == 0


def test_the_ledger_invariant_holds_for_any_sequence_of_moves():
    run_state_machine_as_test(LedgerMachine, settings=settings(
        max_examples=20, stateful_step_count=25, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]))
