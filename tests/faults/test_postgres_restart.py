"""PostgreSQL stopped and started again under load: while it is down the API answers 503 with a
message (never a 500 page), gunicorn recovers by itself once it is back, and every purchase a till
was told about is recorded exactly once (a till sends again with the same Idempotency-Key)."""

import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone

from programs.models import Program, Purchase
from programs.services import change_earning_rule, create_api_key

from ..factories import MemberFactory, StoreFactory
from .conftest import wait_until
from .helpers import call_api

pytestmark = pytest.mark.faults

TILLS = 4


class Till(threading.Thread):
    """Sends purchases one after another; each is sent again (same key) until it is recorded."""

    def __init__(self, number, web, api_key, member, stop):
        super().__init__()
        self.number, self.web, self.api_key, self.member, self.stop = number, web, api_key, member, stop
        self.answers, self.recorded = [], []

    def run(self):
        receipt = 0
        deadline = time.monotonic() + 180
        while not self.stop.is_set() and time.monotonic() < deadline:
            receipt += 1
            external_id = f"T{self.number}-{receipt}"
            while time.monotonic() < deadline:
                try:
                    status, body = call_api(
                        self.web, "purchases", self.api_key,
                        {"member": self.member, "external_id": external_id, "amount": "10.00",
                         "currency": settings.SHOP_CURRENCY},
                        headers={"Idempotency-Key": external_id}, timeout=30)
                except OSError as error:  # gunicorn itself must stay up: count it as a failure
                    status, body = None, repr(error)
                self.answers.append((status, body))
                if status == 201:
                    self.recorded.append(external_id)
                    break
                time.sleep(0.1)


def test_requests_fail_cleanly_while_postgres_restarts_then_recover(
        private_postgres, on_private_postgres, private_redis, patron_env, start_web):
    with on_private_postgres():
        program = Program.objects.create(name="Points", slug="points", kind=Program.Kind.SPEND)
        change_earning_rule(program=program, actor=None, points_per_unit=Decimal("1"),
                            effective_from=timezone.now() - timedelta(days=1))
        api_key = create_api_key(store=StoreFactory())[1]
        members = [MemberFactory().number for _ in range(TILLS)]
    web = start_web(patron_env(private_postgres.url("patron"), private_redis.url))

    stop = threading.Event()
    tills = [Till(number, web, api_key, member, stop) for number, member in enumerate(members)]
    for till in tills:
        till.start()

    def answers(status):
        return [body for till in tills for code, body in till.answers if code == status]

    try:
        wait_until(lambda: len(answers(201)) >= TILLS, timeout=60, what="purchases before the restart")
        private_postgres.pg_ctl("stop", "-m", "fast")
        wait_until(lambda: len(answers(503)) >= TILLS, timeout=60, what="refusals while it is down")
        private_postgres.pg_ctl("start")
        recorded_before = len(answers(201))
        wait_until(lambda: len(answers(201)) >= recorded_before + 2 * TILLS, timeout=60,
                   what="purchases after the restart")
    finally:
        stop.set()
        for till in tills:
            till.join(timeout=30)

    statuses = {status for till in tills for status, _body in till.answers}
    assert statuses == {201, 503}, [a for till in tills for a in till.answers if a[0] not in (201, 503)]
    assert all("briefly unavailable" in body["detail"] for body in answers(503))
    assert call_api(web, "", api_key)[0] == 200
    recorded = sorted(external_id for till in tills for external_id in till.recorded)
    with on_private_postgres():
        assert sorted(Purchase.objects.values_list("external_id", flat=True)) == recorded
        call_command("verify_ledger")
