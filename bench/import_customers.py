"""Benchmark: import 100,000 customers with opening balances from CSV, beside raw SQL COPY.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/import_customers.py [--rows N]

It creates (and afterwards drops) a database `patron_bench_import` on the same server, makes a
CSV file of N customers (email, name, phone, language, balance, joined; every tenth without a
balance) and times Patron's whole import: `check_customer_file` (the preview) and then
`import_customers` (which checks again and writes people, cards, memberships, lots and opening
balance entries in one transaction). It then rebuilds the database and times the bare minimum
the database must do for the same rows: COPY into a staging table and one INSERT … SELECT per
table, in one transaction, with no checks. The machines are shared and noisy: read the ratio,
not the seconds. Target: 100,000 rows in under 60 seconds.
"""

import argparse
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DATABASE = "patron_bench_import"


def bench_database_url():
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("Set DATABASE_URL to a PostgreSQL server (the benchmark creates its own database).")
    return url, urlunsplit(urlsplit(url)._replace(path=f"/{DATABASE}"))


def recreate_database(admin_url, *, drop_only=False):
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE}")
        if not drop_only:
            conn.execute(f"CREATE DATABASE {DATABASE}")


def customer_file(rows):
    lines = ["email,name,phone,language,balance,joined"]
    for n in range(rows):
        balance = "" if n % 10 == 0 else str(n % 997 + 1)
        lines.append(f"customer{n}@example.com,Customer {n},070-{n:07d},sv,{balance},2024-0{n % 9 + 1}-15")
    return ("\n".join(lines) + "\n").encode()


# The same rows as the CSV, the least the database must do: no checks, no locks, no batches.
RAW_STAGING = """
CREATE TEMP TABLE staging (email text, name text, phone text, language text, balance int,
                           joined date, number text) ON COMMIT DROP
"""
RAW_COPY = ("COPY staging (email, name, phone, language, balance, joined) "
            "FROM STDIN WITH (FORMAT csv, HEADER true)")
RAW_WRITE = """
UPDATE staging SET number = lpad((1000000000 + row_number)::text, 10, '0')
FROM (SELECT email AS e, row_number() OVER () FROM staging) n WHERE n.e = staging.email;
INSERT INTO loyalty_site_user (password, is_superuser, email, name, phone, language,
    emails_reminders, emails_offers, emails_surveys, is_staff, is_active, date_joined)
SELECT '!', false, email, name, phone, language, true, false, true, false, true, joined
FROM staging;
INSERT INTO programs_member (user_id, number, joined_at)
SELECT u.id, s.number, s.joined FROM staging s JOIN loyalty_site_user u ON u.email = s.email;
INSERT INTO programs_membership (member_id, program_id, balance, pending, points_owed,
    lifetime_earned, joined_at, last_activity_at)
SELECT m.id, %(program)s, COALESCE(s.balance, 0), 0, 0, 0, s.joined, now()
FROM staging s JOIN programs_member m ON m.number = s.number;
INSERT INTO programs_pointlot (membership_id, points, remaining, is_pending, available_at, created_at)
SELECT ms.id, ms.balance, ms.balance, false, now(), now()
FROM programs_membership ms WHERE ms.balance > 0;
INSERT INTO programs_ledgerentry (membership_id, kind, points, balance_after, created_at, lot_id,
    reason, cause_key)
SELECT l.membership_id, 'import', l.points, l.points, now(), l.id, '', 'import:1:row:' || l.id
FROM programs_pointlot l;
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    admin_url, bench_url = bench_database_url()
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty_site.settings")

    recreate_database(admin_url)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction

    from programs import imports, services
    from programs.models import LedgerEntry, Program
    from programs.selectors import ledger_breaches

    data = customer_file(args.rows)
    try:
        call_command("migrate", verbosity=0)
        program = Program.objects.create(name="Bench", slug="bench")
        print(f"Importing {args.rows:,} customers ({len(data) / 1e6:.1f} MB of CSV) …")
        started = time.perf_counter()
        checked = imports.check_customer_file(data, program=program)
        preview = time.perf_counter() - started
        assert checked.can_import, checked.errors[:5]
        started = time.perf_counter()
        batch = services.import_customers(data=data, program=program, actor=None, file_name="bench.csv")
        patron = time.perf_counter() - started
        assert batch.rows == args.rows and batch.members_created == args.rows
        assert LedgerEntry.objects.filter(kind="import").count() == args.rows - args.rows // 10
        assert not list(ledger_breaches()), "the ledger does not add up after the import"

        connection.close()
        recreate_database(admin_url)
        call_command("migrate", verbosity=0)
        program = Program.objects.create(name="Bench", slug="bench")
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(RAW_STAGING)
            with cursor.copy(RAW_COPY) as copy:
                copy.write(data)
            cursor.execute(RAW_WRITE, {"program": program.pk})
        raw = time.perf_counter() - started
        connection.close()
    finally:
        connection.close()
        recreate_database(admin_url, drop_only=True)

    print(f"\nImport of {args.rows:,} customers ({batch.points:,} points)")
    print(f"  Patron preview (check only):    {preview:8.2f} s")
    print(f"  Patron import (check + write):  {patron:8.2f} s  ({args.rows / patron:,.0f} rows/s)")
    print(f"  raw SQL COPY, same rows:        {raw:8.2f} s  ({args.rows / raw:,.0f} rows/s)")
    print(f"  ratio Patron / raw:             {patron / raw:8.2f}")
    print(f"  target: under 60 s for 100,000 rows — {'met' if patron < 60 * args.rows / 1e5 else 'MISSED'}")


if __name__ == "__main__":
    main()
