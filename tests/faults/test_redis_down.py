"""Redis (broker and cache) stopped while purchases arrive at the API: every purchase is recorded
and answered 201, its email waits in the outbox, and the email is sent once Redis is back."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.utils import timezone

from loyalty_site.models import OutboxEmail
from loyalty_site.tasks import flush_outbox
from programs.models import Program, Purchase, Tier
from programs.selectors import ledger_breaches
from programs.services import change_earning_rule, create_api_key

from ..factories import MemberFactory, StoreFactory
from .conftest import database_url_of_tests, wait_until
from .helpers import call_api, send_task

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

MEMBERS = 3


def test_purchases_while_redis_is_down_are_kept_and_their_emails_sent_when_it_is_back(
        private_redis, patron_env, start_web, start_worker, tmp_path):
    program = Program.objects.create(name="Points", slug="points", kind=Program.Kind.SPEND)
    change_earning_rule(program=program, actor=None, points_per_unit=Decimal("1"),
                        effective_from=timezone.now() - timedelta(days=1))
    # Each purchase lifts its member to Silver, which emails them.
    Tier.objects.create(program=program, name="Bronze", rank=0, threshold=0)
    Tier.objects.create(program=program, name="Silver", rank=1, threshold=100)
    api_key = create_api_key(store=StoreFactory())[1]
    members = [MemberFactory() for _ in range(MEMBERS)]
    env = patron_env(database_url_of_tests(), private_redis.url)
    web = start_web(env, workers=1)

    private_redis.stop()
    try:
        answers = [call_api(web, "purchases", api_key, {
            "member": member.number, "external_id": f"R-{number}", "amount": "150.00",
            "currency": settings.SHOP_CURRENCY}) for number, member in enumerate(members)]
    finally:
        private_redis.start()

    assert [status for status, _body in answers] == [201] * MEMBERS, answers
    assert Purchase.objects.count() == MEMBERS
    waiting = OutboxEmail.objects.filter(kind="tier_upgraded")
    assert waiting.count() == MEMBERS
    assert set(waiting.values_list("status", flat=True)) == {OutboxEmail.Status.PENDING}

    # Back up: beat's next outbox flush (every minute) queues them; here, at once.
    worker = start_worker(env)
    send_task(flush_outbox, private_redis.url)
    wait_until(lambda: not waiting.exclude(status=OutboxEmail.Status.SENT).exists(), timeout=60,
               what="the emails", log=worker.log_path)
    assert set(waiting.values_list("attempts", flat=True)) == {1}
    assert len(list((tmp_path / "var" / "mail").iterdir())) == MEMBERS
    assert list(ledger_breaches()) == []
