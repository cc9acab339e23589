"""Benchmark: the nightly tier re-evaluation of 200,000 memberships, beside raw SQL doing the
same work.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/tiers.py [--memberships N]

It creates (and afterwards drops) a database `patron_bench_tiers` on the same server, fills it
with memberships of a Bronze / Silver / Gold program (one earn entry each, in the window), of
which 1% are due an upgrade and 1% a downgrade, and times Patron's `reevaluate_tiers`: batches
of 5,000 locked memberships, the window's amounts in one query per batch, the moves written in
bulk, a TierChange per move and an email per move rendered into the outbox. It then rebuilds the
same data and times the bare minimum the database must do for the same tiers: one statement of
targets, one INSERT of the changes and one UPDATE of the memberships, in one transaction, with
no locks, batches or emails. The machines are shared and noisy: read the ratio, not the seconds.
Target: 200,000 memberships in under 60 seconds.
"""

import argparse
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DATABASE = "patron_bench_tiers"


def bench_database_url():
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("Set DATABASE_URL to a PostgreSQL server (the benchmark creates its own database).")
    return url, urlunsplit(urlsplit(url)._replace(path=f"/{DATABASE}"))


def recreate_database(admin_url):
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        conn.execute(f"CREATE DATABASE {DATABASE}")


def drop_database(admin_url):
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE}")


# Amounts spread over 0..2,499 points; the tier each membership holds is the one its amount
# reaches, except every 100th (one below: due an upgrade) and every 100th + 50 (one above: due
# a downgrade, no grace period).
FILL = """
INSERT INTO loyalty_site_user (password, is_superuser, email, name, phone, language,
    emails_reminders, emails_offers, emails_surveys, is_staff, is_active, date_joined)
SELECT '!', false, 'bench' || g || '@example.com', 'Bench ' || g, '', 'en', true, false, true,
       false, true, now()
FROM generate_series(1, %(members)s) g;
INSERT INTO programs_member (user_id, number, joined_at)
SELECT id, lpad(id::text, 10, '0'), now() FROM loyalty_site_user;
INSERT INTO programs_membership (member_id, program_id, balance, pending, points_owed,
    lifetime_earned, joined_at)
SELECT m.id, %(program)s, (m.id * 7919) %% 2500, 0, 0, (m.id * 7919) %% 2500, now()
FROM programs_member m;
INSERT INTO programs_ledgerentry (membership_id, kind, points, balance_after, created_at, reason,
    cause_key)
SELECT ms.id, 'earn', ms.balance, ms.balance, now() - interval '30 days', '', ''
FROM programs_membership ms WHERE ms.balance > 0;
UPDATE programs_membership ms SET tier_id = t.id, tier_since = now() - interval '30 days'
FROM programs_tier t
WHERE t.program_id = %(program)s AND t.rank = (
    CASE WHEN ms.balance >= 1500 THEN 2 WHEN ms.balance >= 500 THEN 1 ELSE 0 END
    + CASE WHEN ms.id %% 100 = 0 AND ms.balance >= 500 THEN -1
           WHEN ms.id %% 100 = 50 AND ms.balance < 1500 THEN 1 ELSE 0 END);
ANALYZE;
"""

RAW_REEVALUATION = """
BEGIN;
CREATE TEMP TABLE moves ON COMMIT DROP AS
SELECT m.id, m.tier_id AS from_id, COALESCE(a.amount, 0) AS amount,
       (SELECT t.id FROM programs_tier t WHERE t.program_id = m.program_id
          AND t.threshold <= COALESCE(a.amount, 0) ORDER BY t.threshold DESC LIMIT 1) AS to_id
FROM programs_membership m
LEFT JOIN (SELECT membership_id, SUM(points) AS amount FROM programs_ledgerentry
           WHERE kind IN ('earn', 'bonus') AND created_at >= now() - interval '1 year'
           GROUP BY membership_id) a ON a.membership_id = m.id
WHERE m.program_id = %(program)s;
DELETE FROM moves WHERE to_id IS NOT DISTINCT FROM from_id;
INSERT INTO programs_tierchange (membership_id, from_tier_id, to_tier_id, reason, amount, created_at)
SELECT id, from_id, to_id, 'reevaluation', amount, now() FROM moves;
UPDATE programs_membership m SET tier_id = mv.to_id, tier_since = now(), tier_grace_until = NULL
FROM moves mv WHERE m.id = mv.id;
COMMIT;
"""


def fill(memberships):
    from django.db import connection

    from programs.models import Program, Tier

    program = Program.objects.create(name="Bench", slug="bench")
    for rank, (name, threshold) in enumerate([("Bronze", 0), ("Silver", 500), ("Gold", 1500)]):
        Tier.objects.create(program=program, name=name, rank=rank, threshold=threshold)
    with connection.cursor() as cursor:
        cursor.execute(FILL, {"members": memberships, "program": program.pk})
    return program


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--memberships", type=int, default=200_000)
    args = parser.parse_args()
    admin_url, bench_url = bench_database_url()
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty_site.settings")
    os.environ.setdefault("EMAIL_URL", "dummymail://")

    recreate_database(admin_url)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from loyalty_site.models import OutboxEmail
    from programs.models import TierChange
    from programs.tiers import reevaluate_tiers

    try:
        call_command("migrate", verbosity=0)
        print(f"Filling {args.memberships:,} memberships …")
        started = time.perf_counter()
        fill(args.memberships)
        print(f"  filled in {time.perf_counter() - started:.1f} s")

        started = time.perf_counter()
        counts = reevaluate_tiers()["bench"]
        patron = time.perf_counter() - started
        moves = TierChange.objects.count()
        emails = OutboxEmail.objects.count()
        assert moves == counts["upgraded"] + counts["downgraded"] > 0, counts
        started = time.perf_counter()
        again = reevaluate_tiers()["bench"]
        second = time.perf_counter() - started
        assert again == {"upgraded": 0, "downgraded": 0, "grace_started": 0}, again

        connection.close()
        recreate_database(admin_url)
        call_command("migrate", verbosity=0)
        program = fill(args.memberships)
        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(RAW_REEVALUATION, {"program": program.pk})
        raw = time.perf_counter() - started
        raw_moves = TierChange.objects.count()
        assert raw_moves == moves, (raw_moves, moves)
        connection.close()
    finally:
        drop_database(admin_url)

    n = args.memberships
    print(f"\nTier re-evaluation of {n:,} memberships ({counts['upgraded']:,} up, "
          f"{counts['downgraded']:,} down, {emails:,} emails written to the outbox)")
    print(f"  Patron reevaluate_tiers:   {patron:8.2f} s  ({n / patron:,.0f} memberships/s)")
    print(f"  the same run again:        {second:8.2f} s  (nothing to change)")
    print(f"  raw SQL, same moves:       {raw:8.2f} s  ({n / raw:,.0f} memberships/s, no emails)")
    print(f"  ratio Patron / raw:        {patron / raw:8.2f}")
    print(f"  target: under 60 s for 200,000 — {'met' if patron < 60 * n / 200_000 else 'MISSED'}")


if __name__ == "__main__":
    main()
