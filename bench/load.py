"""Benchmark: Patron under concurrent load, each page beside pgbench doing its SQL in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres REDIS_URL=redis://127.0.0.1:6379/14 \
        .venv/bin/python bench/load.py [--seconds 20] [--concurrency 8] [--workers 5]

It makes sure PostgreSQL and Redis are up (starting them as .ci/run does, never restarting
them), creates (and afterwards drops) a database `patron_bench_load`, fills it with members of
a points program with tiers (the first purchase moves a member into Bronze, which emails them),
and starts gunicorn with production settings and a Celery worker on REDIS_URL. Then, one after
the other, each scenario runs for --seconds from --concurrency keep-alive connections:

- purchase API: POST /api/v1/purchases with the store's API key, a random member each time;
- portal home: GET / as one of 50 signed-in members, picked at random;
- staff home and staff metrics: GET /staff/ and /staff/metrics/ as a signed-in manager.

Beside each, pgbench runs the same SQL from as many connections for as long: for the purchase,
the least the database must do (lock the membership, insert the purchase, its lot and its ledger
entry, update the balance); for the pages, the very statements the page sent (captured from one
request each), so the ratio is what HTTP, Django and Python cost on top of the database. Beside
each scenario it prints the CPU time gunicorn's processes used per request: waiting for a busy
core costs none, so it is the steadiest figure on a shared machine.
Last, it waits for the worker to send every email the purchases queued and runs verify_ledger;
it exits non-zero when a request failed, an email was not sent or the ledger does not add up.
The machine is shared and noisy: the load average is printed before and after; read the ratios.
"""

import argparse
import os
import re
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench._harness import (  # noqa: E402
    FIGURES_HEADER,
    Request,
    children,
    close_bench,
    cpu_seconds,
    free_port,
    hammer,
    load_average,
    open_bench,
    pgbench,
    start_celery,
    start_gunicorn,
    stop,
)
from bench.purchases_api import prepare, purchase_requests  # noqa: E402

DB_NAME = "patron_bench_load"
SIGNED_IN_MEMBERS = 50
# Portal statements are captured for this many of the signed-in members; pgbench picks one of
# them at random per transaction, as the load picks a member.
CAPTURED_MEMBERS = 10

# Per purchase: what bench/purchases_api.py's raw SQL does, as a pgbench script.
PURCHASE_SQL = """\\set membership random({first}, {last})
\\set points random(1, 500)
BEGIN;
SELECT member_id FROM programs_membership WHERE id = :membership FOR UPDATE \\gset
INSERT INTO programs_purchase (store_id, member_id, external_id, amount, currency, occurred_at,
    recorded_at) VALUES ({store}, :member_id, 'pgbench-' || gen_random_uuid(), :points, 'SEK', now(),
    now()) RETURNING id AS purchase \\gset
INSERT INTO programs_pointlot (membership_id, points, remaining, is_pending, available_at,
    expires_at, created_at, purchase_id) VALUES (:membership, :points, :points, true,
    now() + interval '14 days', now() + interval '12 months', now(), :purchase) RETURNING id AS lot \\gset
UPDATE programs_membership SET balance = balance + :points, pending = pending + :points,
    lifetime_earned = lifetime_earned + :points, last_activity_at = now()
    WHERE id = :membership RETURNING balance \\gset
INSERT INTO programs_ledgerentry (membership_id, kind, points, balance_after, created_at,
    purchase_id, rule_id, lot_id, reason) VALUES (:membership, 'earn', :points, :balance, now(),
    :purchase, {rule}, :lot, '');
END;
"""


@dataclass
class Scenario:
    name: str
    next_request: object  # (n, rng) -> Request
    sql: dict  # pgbench scripts: {file name: SQL}


@dataclass
class Stage:
    """Patron running on the bench database: the server's port, its processes, the scenarios."""

    port: int
    gunicorn: object
    celery: object
    scenarios: list
    db_url: str


def session_cookie(client):
    from django.conf import settings

    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


# A form's choices are read through a server-side cursor; pgbench runs the query itself.
SERVER_SIDE_CURSOR = re.compile(r'^DECLARE "[^"]+" NO SCROLL CURSOR WITH(OUT)? HOLD FOR ')


def statements_of(client, path):
    """The SQL one GET of `path` sends, as a pgbench script (after a first GET warmed caches)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(path)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200, (path, response.status_code)
    return "".join(f"{SERVER_SIDE_CURSOR.sub('', query['sql'])};\n" for query in captured.captured_queries)


def page_requests(path, cookies):
    def page(n, rng):
        return Request("GET", path, headers={"Cookie": rng.choice(cookies)})
    return page


def build_scenarios(members, run):
    """Fill the database and sign people in; `run` tells this run's receipts apart."""
    from django.db import connection
    from django.db.models import Max, Min
    from django.test import Client

    from loyalty_site.roles import MANAGER
    from programs.models import Member, Membership, Program, Tier
    from tests.factories import UserFactory

    key, numbers, program_id, store_id = prepare(members)
    program = Program.objects.get(pk=program_id)
    # Bronze from the first purchase, so that members' first purchases queue an email each.
    for rank, (name, threshold) in enumerate([("Bronze", 0), ("Silver", 1000), ("Gold", 5000)]):
        Tier.objects.create(program=program, name=name, rank=rank, threshold=threshold)
    ids = Membership.objects.filter(program=program).aggregate(first=Min("pk"), last=Max("pk"))
    rule = program.earning_rules.get().pk

    def signed_in(user):
        client = Client(SERVER_NAME="127.0.0.1")
        client.force_login(user)
        return client

    member_clients = [signed_in(member.user) for member in
                      Member.objects.select_related("user").order_by("?")[:SIGNED_IN_MEMBERS]]
    manager = signed_in(UserFactory(email="manager@example.com", role=MANAGER))
    manager_cookie = [session_cookie(manager)]
    portal_sql = {f"portal-{i}.sql": statements_of(client, "/")
                  for i, client in enumerate(member_clients[:CAPTURED_MEMBERS])}
    scenarios = [
        Scenario("purchase API", purchase_requests(key, numbers, prefix=run),
                 {"purchase.sql": PURCHASE_SQL.format(store=store_id, rule=rule, **ids)}),
        Scenario("portal home", page_requests("/", [session_cookie(c) for c in member_clients]),
                 portal_sql),
        Scenario("staff home", page_requests("/staff/", manager_cookie),
                 {"staff-home.sql": statements_of(manager, "/staff/")}),
        Scenario("staff metrics", page_requests("/staff/metrics/", manager_cookie),
                 {"staff-metrics.sql": statements_of(manager, "/staff/metrics/")}),
    ]
    connection.close()
    return scenarios


@contextmanager
def patron_running(*, members, port, workers, db_name=DB_NAME):
    """Patron served by gunicorn with a Celery worker on a fresh bench database; dropped after."""
    redis_url = os.environ.get("REDIS_URL", "")
    if not redis_url.startswith("redis://"):
        sys.exit("Set REDIS_URL to a Redis database of your own: the worker's queue and the cache.")
    bench = open_bench(db_name, redis_url=redis_url)
    gunicorn = celery = None
    try:
        scenarios = build_scenarios(members, run=f"L{time.time_ns()}")
        port = port or free_port()
        gunicorn = start_gunicorn(bench.env, port, workers)
        celery = start_celery(bench.env, bench.var_dir / "celery.log")
        yield Stage(port, gunicorn, celery, scenarios, bench.db_url)
    finally:
        for process in (gunicorn, celery):
            if process is not None:
                stop(process)
        close_bench(bench, db_name)


def server_cpu(stage):
    """CPU seconds gunicorn (master and workers) has used so far."""
    return sum(cpu_seconds(pid) for pid in [stage.gunicorn.pid, *children(stage.gunicorn.pid)])


def mixed_requests(scenarios, weights):
    """Each request one of the scenarios', picked at random by `weights`."""
    def mixed(n, rng):
        return rng.choices(scenarios, weights)[0].next_request(n, rng)
    return mixed


def settle(timeout=180):
    """Wait for the worker to send what was queued; run verify_ledger. A list of what failed."""
    from django.core.management import CommandError, call_command
    from django.db import connection

    from loyalty_site.models import OutboxEmail

    failures = []
    deadline = time.monotonic() + timeout
    waiting = OutboxEmail.objects.exclude(status=OutboxEmail.Status.SENT)
    while waiting.filter(status__in=[OutboxEmail.Status.PENDING, OutboxEmail.Status.SENDING]).exists():
        if time.monotonic() > deadline:
            break
        time.sleep(1)
    sent = OutboxEmail.objects.filter(status=OutboxEmail.Status.SENT).count()
    print(f"  emails sent by the worker: {sent:,}; not sent: {waiting.count():,}")
    if waiting.exists():
        failures.append(f"{waiting.count()} emails not sent")
    try:
        call_command("verify_ledger")
    except CommandError as error:
        failures.append(str(error))
    connection.close()
    return failures


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20, help="per scenario, and per pgbench run")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of unmeasured load first")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=5, help="gunicorn workers (2 × cores + 1)")
    parser.add_argument("--members", type=int, default=2000)
    parser.add_argument("--port", type=int, default=0, help="for gunicorn; a free one by default")
    args = parser.parse_args()

    before = load_average()
    results = []
    with patron_running(members=args.members, port=args.port, workers=args.workers) as stage:
        for scenario in stage.scenarios:
            hammer(stage.port, scenario.next_request, args.concurrency, seconds=args.warmup)
            cpu = server_cpu(stage)
            # Counting from far on, so that the measured purchases' receipts are new ones.
            http = hammer(stage.port, scenario.next_request, args.concurrency, seconds=args.seconds,
                          first=10**9, name=scenario.name)
            cpu = server_cpu(stage) - cpu
            sql = pgbench(stage.db_url, scenario.sql, clients=args.concurrency, seconds=args.seconds,
                          name="  pgbench, same SQL")
            results.append((http, cpu, sql))
        print(f"\nPatron under load: {args.concurrency} connections, {args.workers} gunicorn "
              f"workers, 1 Celery worker, {os.cpu_count()} cores, {args.seconds:g} s per run")
        print(f"  load average before: {before}; after: {load_average()}")
        print(f"  {'':24} {FIGURES_HEADER} {'ratio':>7} {'CPU ms':>7}")
        for http, cpu, sql in results:
            cpu_per_request = cpu / len(http.latencies) * 1000 if http.latencies else 0
            print(f"  {http.name:24} {http.line()} {'':7} {cpu_per_request:7.1f}")
            print(f"  {sql.name:24} {sql.line()} {http.rate / sql.rate if sql.rate else 0:7.2f}")
        failures = [f"{http.name}: {len(http.errors)} failed requests ({sorted(set(map(str, http.errors)))})"
                    for http, _cpu, _sql in results if http.errors]
        failures += settle()
    if failures:
        sys.exit("FAILED: " + "; ".join(failures))


if __name__ == "__main__":
    main()
