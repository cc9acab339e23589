"""A Celery worker, or its pool process, killed with SIGKILL in the middle of a task: the task
comes back and is finished, and nothing is done twice.

- The whole worker killed: the message was never acknowledged (acks_late), so the broker gives
  it to the next worker once its visibility timeout has passed (an hour in production; two
  seconds for these workers).
- Only the pool process killed (the out-of-memory killer's choice): the worker gives the message
  back at once (reject_on_worker_lost) and runs it in a new pool process.

Each test stops a real worker in the middle of its work by holding a row lock that the task
needs after it has done part of the work, kills it, and releases the lock.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import F
from django.utils import timezone

from loyalty_site.models import EmailCategory, OutboxEmail
from loyalty_site.services import STALE_CLAIM, queue_email
from loyalty_site.tasks import flush_outbox, send_outbox_batch
from programs.models import LedgerEntry, Membership, Plan, PointLot, Program, SubscriptionPayment
from programs.selectors import ledger_breaches
from programs.services import change_earning_rule, record_purchase
from programs.subscriptions import record_subscription_payment
from programs.tasks import expire_points, run_subscription_schedule

from ..factories import MemberFactory, StoreFactory
from .conftest import database_url_of_tests, wait_until
from .helpers import HeldLock, kill_when_blocked, send_task

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

MEMBERS = 3


@pytest.fixture
def program(settings):
    program = Program.objects.create(
        name="Points", slug="points", kind=Program.Kind.SPEND, pending_days=0,
        expiry=Program.Expiry.AFTER_EARNING, expiry_months=12)
    change_earning_rule(program=program, actor=None, points_per_unit=Decimal("1"),
                        effective_from=timezone.now() - timedelta(days=5 * 365))
    return program


@pytest.fixture
def killed_and_restarted(private_redis, patron_env, start_worker):
    """killed_and_restarted(task, locked_rows, *args) runs `task` on a worker, kills the worker
    once it waits for `locked_rows`, and starts a new worker with the lock released. With
    pool_process_only, only the pool process is killed: the worker gives the task back at once
    (reject_on_worker_lost) and runs it again in a new pool process."""
    env = patron_env(database_url_of_tests(), private_redis.url)

    def run(task, locked_rows, *args, pool_process_only=False):
        with HeldLock(locked_rows):
            worker = start_worker(env, pool="prefork" if pool_process_only else "solo")
            send_task(task, private_redis.url, *args)
            kill_when_blocked(worker, pool_process_only=pool_process_only)
        return worker if pool_process_only else start_worker(env)

    return run


def test_expiry_killed_midway_expires_each_lot_once(program, killed_and_restarted):
    store, year_ago = StoreFactory(), timezone.now() - timedelta(days=400)
    members = [MemberFactory() for _ in range(MEMBERS)]
    for number, member in enumerate(members):
        record_purchase(store=store, member=member, external_id=f"R-{number}", amount="100",
                        now=year_ago, occurred_at=year_ago)
    last = Membership.objects.filter(member=members[-1])

    worker = killed_and_restarted(expire_points, last)

    wait_until(lambda: not PointLot.objects.filter(remaining__gt=0).exists(), timeout=60,
               what="the second worker to expire the lots", log=worker.log_path)
    assert LedgerEntry.objects.filter(kind=LedgerEntry.Kind.EXPIRE).count() == MEMBERS
    assert set(Membership.objects.values_list("balance", flat=True)) == {0}
    assert list(ledger_breaches()) == []


def test_renewal_schedule_whose_pool_process_is_killed_credits_each_bonus_once(program, killed_and_restarted):
    plan = Plan.objects.create(program=program, name="VIP", price=Decimal("99.00"), bonus_points=50)
    members = [MemberFactory() for _ in range(MEMBERS)]
    # Paid an hour ago for periods that began ten minutes ago: the hourly task credits the bonus.
    now = timezone.now()
    for member in members:
        record_subscription_payment(member=member, plan=plan, amount=plan.price, method="cash",
                                    now=now - timedelta(hours=1),
                                    period=(now - timedelta(minutes=10), now + timedelta(days=30)))
    assert not SubscriptionPayment.objects.exclude(bonus_credited_at=None).exists()
    second = Membership.objects.filter(member=members[1])

    worker = killed_and_restarted(run_subscription_schedule, second, pool_process_only=True)

    wait_until(lambda: not SubscriptionPayment.objects.filter(bonus_credited_at=None).exists(),
               timeout=60, what="the bonuses", log=worker.log_path)
    bonuses = LedgerEntry.objects.filter(cause_key__startswith="plan-period:")
    assert bonuses.count() == MEMBERS
    assert set(Membership.objects.values_list("balance", flat=True)) == {50}
    assert list(ledger_breaches()) == []


def test_an_email_batch_killed_midway_sends_each_email_once(killed_and_restarted, private_redis,
                                                           tmp_path):
    members = [MemberFactory() for _ in range(MEMBERS)]
    emails = [queue_email(to=member.user.email, template="staff_invitation", send=False,
                          category=EmailCategory.ESSENTIAL, user=member.user,
                          context={"inviter": None, "set_password_url": "https://x",
                                   "sign_in_url": "https://y"})
              for member in members]
    ids = [email.pk for email in emails]

    worker = killed_and_restarted(send_outbox_batch, OutboxEmail.objects.filter(pk=ids[1]), ids)

    def sent():
        return OutboxEmail.objects.filter(status=OutboxEmail.Status.SENT).count()

    # The killed worker's claim of the second email was waiting in PostgreSQL, and went through
    # once the lock was released: the email is "sending" with nobody sending it. The new worker
    # sends the third and leaves the second to the flush task.
    wait_until(lambda: sent() == MEMBERS - 1, timeout=60,
               what="the emails", log=worker.log_path)
    orphan = OutboxEmail.objects.get(pk=ids[1])
    assert orphan.status == OutboxEmail.Status.SENDING
    # Ten minutes later the flush task frees the claim and the email is sent.
    OutboxEmail.objects.filter(pk=orphan.pk).update(claimed_at=F("claimed_at") - STALE_CLAIM)
    send_task(flush_outbox, private_redis.url)
    wait_until(lambda: sent() == MEMBERS, timeout=60,
               what="the freed email", log=worker.log_path)
    # The file backend writes each message it sends to a file of its own: none went twice.
    assert len(list((tmp_path / "var" / "mail").iterdir())) == MEMBERS
