"""Benchmark: expire 1,000,000 point lots, beside raw SQL doing the same work.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/expiry.py [--lots N]

It creates (and afterwards drops) a database `patron_bench` on the same server, fills it with
memberships whose lots are all due, and times Patron's `expire_points` (batched, locking each
batch of memberships, writing one ledger entry per lot). It then rebuilds the same data and
times the bare minimum the database must do for the same result: one INSERT … SELECT of the
entries, one UPDATE of the balances, one UPDATE of the lots, in one transaction, no locks or
batches. The machines are shared and noisy: read the ratio, not the seconds.
Target: 1,000,000 lots in under 60 seconds.
"""

import argparse
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

LOTS_PER_MEMBERSHIP = 10


def bench_database_url():
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("Set DATABASE_URL to a PostgreSQL server (the benchmark creates its own database).")
    parts = urlsplit(url)
    return url, urlunsplit(parts._replace(path="/patron_bench"))


def recreate_database(admin_url):
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS patron_bench")
        conn.execute("CREATE DATABASE patron_bench")


def drop_database(admin_url):
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS patron_bench")


FILL = """
INSERT INTO loyalty_site_user (password, is_superuser, email, name, phone, language,
    emails_reminders, emails_offers, emails_surveys, is_staff, is_active, date_joined)
SELECT '!', false, 'bench' || g || '@example.com', '', '', 'en', true, false, true, false, true, now()
FROM generate_series(1, %(members)s) g;
INSERT INTO programs_member (user_id, number, joined_at)
SELECT id, lpad(id::text, 10, '0'), now() FROM loyalty_site_user;
INSERT INTO programs_membership (member_id, program_id, balance, pending, points_owed,
    lifetime_earned, joined_at)
SELECT m.id, %(program)s, %(per)s * 10, 0, 0, %(per)s * 10, now() FROM programs_member m;
INSERT INTO programs_pointlot (membership_id, points, remaining, is_pending, available_at,
    expires_at, created_at)
SELECT ms.id, 10, 10, false, now() - interval '400 days', now() - interval '1 day',
       now() - interval '400 days'
FROM programs_membership ms, generate_series(1, %(per)s);
INSERT INTO programs_ledgerentry (membership_id, kind, points, balance_after, created_at, lot_id,
    reason)
SELECT l.membership_id, 'earn', 10, 10, l.created_at, l.id, '' FROM programs_pointlot l;
ANALYZE;
"""

RAW_EXPIRY = """
BEGIN;
INSERT INTO programs_ledgerentry (membership_id, kind, points, balance_after, created_at, lot_id,
    reason)
SELECT l.membership_id, 'expire', -l.remaining,
       m.balance - SUM(l.remaining) OVER (PARTITION BY l.membership_id ORDER BY l.id),
       now(), l.id, ''
FROM programs_pointlot l JOIN programs_membership m ON m.id = l.membership_id
WHERE l.remaining > 0 AND NOT l.is_pending AND l.expires_at <= now();
UPDATE programs_membership SET balance = balance - d.total
FROM (SELECT membership_id, SUM(remaining) AS total FROM programs_pointlot
      WHERE remaining > 0 AND NOT is_pending AND expires_at <= now() GROUP BY membership_id) d
WHERE programs_membership.id = d.membership_id;
UPDATE programs_pointlot SET remaining = 0
WHERE remaining > 0 AND NOT is_pending AND expires_at <= now();
COMMIT;
"""


def fill(lots):
    from django.db import connection

    from programs.models import Program

    program = Program.objects.create(name="Bench", slug="bench", expiry="after_earning",
                                     expiry_months=12)
    members = lots // LOTS_PER_MEMBERSHIP
    with connection.cursor() as cursor:
        cursor.execute(FILL, {"members": members, "program": program.pk, "per": LOTS_PER_MEMBERSHIP})


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lots", type=int, default=1_000_000)
    args = parser.parse_args()
    admin_url, bench_url = bench_database_url()
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty_site.settings")

    recreate_database(admin_url)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from programs import services
    from programs.selectors import ledger_breaches

    try:
        call_command("migrate", verbosity=0)
        print(f"Filling {args.lots:,} due lots in {args.lots // LOTS_PER_MEMBERSHIP:,} memberships …")
        started = time.perf_counter()
        fill(args.lots)
        print(f"  filled in {time.perf_counter() - started:.1f} s")

        started = time.perf_counter()
        expired_lots, expired_points = services.expire_points()
        patron = time.perf_counter() - started
        assert expired_lots == args.lots, expired_lots
        assert not list(ledger_breaches()), "the ledger does not add up after expiry"

        connection.close()
        recreate_database(admin_url)
        call_command("migrate", verbosity=0)
        fill(args.lots)
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(RAW_EXPIRY)
        raw = time.perf_counter() - started
        connection.close()
    finally:
        drop_database(admin_url)

    print(f"\nExpiry of {args.lots:,} lots ({expired_points:,} points)")
    print(f"  Patron expire_points:  {patron:8.2f} s  ({args.lots / patron:,.0f} lots/s)")
    print(f"  raw SQL, same work:    {raw:8.2f} s  ({args.lots / raw:,.0f} lots/s)")
    print(f"  ratio Patron / raw:    {patron / raw:8.2f}")
    print(f"  target: under 60 s for 1,000,000 lots — {'met' if patron < 60 * args.lots / 1e6 else 'MISSED'}")


if __name__ == "__main__":
    main()
