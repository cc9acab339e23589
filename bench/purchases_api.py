"""Benchmark: purchases recorded per second through the API, beside raw SQL doing the same work.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/purchases_api.py

It creates (and afterwards drops) a database `patron_bench_api` on the same server, starts
gunicorn on it with production settings, and posts purchases from CONCURRENCY keep-alive
connections for a fixed number of requests, printing purchases per second and latency
percentiles. Then the same number of purchases is written by raw SQL from as many connections:
per purchase, lock the membership, insert the purchase, its lot and its ledger entry, update the
balance — the least the database must do for the same result, with no HTTP, no Python framework
and no checks. The machines are shared and noisy: read the ratio, not the figures.
Target: at least 300 purchases per second through the API on 2 cores.
"""

import argparse
import json
import os
import random
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench._harness import (  # noqa: E402
    Request,
    admin,
    database_urls,
    free_port,
    hammer,
    in_threads,
    percentile,
    production_env,
    start_gunicorn,
    stop,
)

DB_NAME = "patron_bench_api"
MEMBERS = 2000


def prepare(members=MEMBERS):
    """Migrate, and make a store, a program with a rule, members and an API key."""
    from decimal import Decimal

    from django.core.management import call_command
    from django.db import connection

    from programs import services
    from programs.models import Program, Store

    call_command("migrate", verbosity=0)
    store = Store.objects.create(name="Bench", code="bench")
    program = Program.objects.create(name="Points", slug="points", pending_days=14,
                                     expiry="after_earning", expiry_months=12)
    services.change_earning_rule(program=program, actor=None, points_per_unit=Decimal("1"))
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO loyalty_site_user (password, is_superuser, email, name, phone, language,
                emails_reminders, emails_offers, emails_surveys, is_staff, is_active, date_joined)
            SELECT '!', false, 'bench' || g || '@example.com', '', '', 'en', true, false, true,
                   false, true, now() FROM generate_series(1, %s) g;
            INSERT INTO programs_member (user_id, number, joined_at)
            SELECT id, lpad(id::text, 10, '0'), now() FROM loyalty_site_user;
            INSERT INTO programs_membership (member_id, program_id, balance, pending, points_owed,
                lifetime_earned, joined_at)
            SELECT id, %s, 0, 0, 0, 0, now() FROM programs_member;
            ANALYZE;
            """,
            [members, program.pk],
        )
        cursor.execute("SELECT number FROM programs_member ORDER BY id")
        numbers = [n for (n,) in cursor.fetchall()]
    _key, plaintext = services.create_api_key(store=store, name="bench")
    return plaintext, numbers, program.pk, store.pk


def purchase_requests(key, numbers, prefix="B"):
    """The n-th purchase of a random member through the API, receipt `{prefix}-{n}`."""
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def purchase(n, rng):
        body = json.dumps({"member": rng.choice(numbers), "external_id": f"{prefix}-{n}",
                           "amount": f"{rng.randint(100, 50000) / 100:.2f}", "currency": "SEK"})
        return Request("POST", "/api/v1/purchases", body, headers, expect=201)
    return purchase


def raw_sql(db_url, total, concurrency, store_id, program_id):
    import psycopg

    with psycopg.connect(db_url.replace("postgres://", "postgresql://", 1)) as conn:
        pairs = conn.execute("SELECT id, member_id FROM programs_membership ORDER BY id").fetchall()
        rule = conn.execute("SELECT id FROM programs_earningrule LIMIT 1").fetchone()[0]
    counter = iter(range(total))
    lock = threading.Lock()

    def worker():
        rng = random.Random()
        with psycopg.connect(db_url.replace("postgres://", "postgresql://", 1)) as conn:
            while True:
                with lock:
                    n = next(counter, None)
                if n is None:
                    return
                membership, member = rng.choice(pairs)
                points = rng.randint(1, 500)
                with conn.transaction():
                    conn.execute("SELECT id FROM programs_membership WHERE id = %s FOR UPDATE",
                                 [membership])
                    purchase = conn.execute(
                        "INSERT INTO programs_purchase (store_id, member_id, external_id, amount,"
                        " currency, occurred_at, recorded_at) VALUES (%s, %s, %s, %s, 'SEK', now(),"
                        " now()) RETURNING id", [store_id, member, f"R-{n}", points]).fetchone()[0]
                    lot = conn.execute(
                        "INSERT INTO programs_pointlot (membership_id, points, remaining, is_pending,"
                        " available_at, expires_at, created_at, purchase_id) VALUES (%s, %s, %s, true,"
                        " now() + interval '14 days', now() + interval '12 months', now(), %s)"
                        " RETURNING id", [membership, points, points, purchase]).fetchone()[0]
                    balance = conn.execute(
                        "UPDATE programs_membership SET balance = balance + %s, pending = pending + %s,"
                        " lifetime_earned = lifetime_earned + %s, last_activity_at = now()"
                        " WHERE id = %s RETURNING balance",
                        [points, points, points, membership]).fetchone()[0]
                    conn.execute(
                        "INSERT INTO programs_ledgerentry (membership_id, kind, points, balance_after,"
                        " created_at, purchase_id, rule_id, lot_id, reason) VALUES (%s, 'earn', %s, %s,"
                        " now(), %s, %s, %s, '')", [membership, points, balance, purchase, rule, lot])

    return in_threads(worker, concurrency)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=5, help="gunicorn workers (2 × cores + 1)")
    args = parser.parse_args()
    admin_url, db_url = database_urls(DB_NAME)
    admin(admin_url, f"DROP DATABASE IF EXISTS {DB_NAME}")
    admin(admin_url, f"CREATE DATABASE {DB_NAME}")
    os.environ["DATABASE_URL"] = db_url
    os.environ["SHOP_CURRENCY"] = "SEK"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty_site.settings")
    import django

    django.setup()
    from django.db import connection

    gunicorn = None
    try:
        key, numbers, program_id, store_id = prepare()
        connection.close()
        port = free_port()
        gunicorn = start_gunicorn(production_env(db_url), port, args.workers)
        purchase = purchase_requests(key, numbers)
        hammer(port, purchase, args.concurrency, total=200)  # warm up the workers
        figures = hammer(port, purchase, args.concurrency, total=args.requests, first=200)
        elapsed, latencies, failures = figures.seconds, figures.latencies, figures.errors
        stop(gunicorn)
        gunicorn = None
        raw = raw_sql(db_url, args.requests, args.concurrency, store_id, program_id)
        from django.core.management import call_command

        call_command("verify_ledger")
    finally:
        if gunicorn is not None:
            stop(gunicorn)
        connection.close()
        admin(admin_url, f"DROP DATABASE IF EXISTS {DB_NAME}")

    api_rate = args.requests / elapsed
    raw_rate = args.requests / raw
    print(f"\nPurchases through the API: {args.requests:,} requests, {args.concurrency} connections, "
          f"{args.workers} gunicorn workers")
    if failures:
        print(f"  FAILED requests: {len(failures)} (statuses {sorted(set(failures))})")
    print(f"  API:      {api_rate:8.0f} purchases/s   p50 {percentile(latencies, 50):.1f} ms, "
          f"p95 {percentile(latencies, 95):.1f} ms, p99 {percentile(latencies, 99):.1f} ms")
    print(f"  raw SQL:  {raw_rate:8.0f} purchases/s   (same rows, {args.concurrency} connections)")
    print(f"  ratio API / raw: {api_rate / raw_rate:.2f}")
    print(f"  target: at least 300 purchases/s through the API — {'met' if api_rate >= 300 else 'MISSED'}")


if __name__ == "__main__":
    main()
