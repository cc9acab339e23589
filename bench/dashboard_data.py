"""Fill a database for the dashboard benchmark: 200,000 members, 2,000,000 purchases,
5,000,000 ledger entries, with set-based SQL (INSERT … SELECT over generate_series).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/dashboard_data.py

It (re)creates the database `patron_bench_dashboard` (or `$BENCH_DATABASE`) on the same server,
migrates it and fills it; bench/dashboard.py then times the pages on it (and drops it with
--drop). Purchases spread over the last two years, each with one categorised line and an earn
entry; the other three million entries are bonuses, redemptions and expiries; a tenth of the
lots are still live, some expiring next month. Rows go in in time order, as a shop's do, so a
period's rows lie together on disk. The data is shaped for timing, not for `verify_ledger`.
Last, the daily roll-ups of points and purchases are run, as their hourly task would have.
"""

import argparse
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# BENCH_DATABASE lets several people on one server each keep their own filled copy.
DB_NAME = os.environ.get("BENCH_DATABASE", "patron_bench_dashboard")
STORES = 5
CATEGORIES = ["coffee", "tea", "cake", "bread", "beans", "gifts"]


def database_urls():
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("Set DATABASE_URL to a PostgreSQL server (the benchmark creates its own database).")
    return url, urlunsplit(urlsplit(url)._replace(path=f"/{DB_NAME}"))


def admin(url, statement):
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(statement)


# Each statement is one set-based INSERT; %(…)s are the sizes. Random but repeatable: setseed.
FILL = [
    "SELECT setseed(0.42)",
    """INSERT INTO programs_store (name, code, channel, address, is_active)
       SELECT 'Store ' || g, 'store-' || g, 'in_store', '', true FROM generate_series(1, %(stores)s) g""",
    """INSERT INTO loyalty_site_user (password, is_superuser, email, name, phone, language,
           emails_reminders, emails_offers, emails_surveys, is_staff, is_active, date_joined)
       SELECT '!', false, 'member' || g || '@example.com', 'Member ' || g,
              '+4670' || lpad(g::text, 7, '0'), 'en', true, false, true, false, true, now()
       FROM generate_series(1, %(members)s) g""",
    """INSERT INTO programs_member (user_id, number, joined_at, joined_store_id)
       SELECT u.id, lpad(u.id::text, 10, '0'), now() - random() * interval '1000 days',
              (SELECT min(id) FROM programs_store) + (u.id %% %(stores)s)
       FROM loyalty_site_user u WHERE u.email LIKE 'member%%'""",
    """INSERT INTO programs_membership (member_id, program_id, balance, pending, points_owed,
           lifetime_earned, joined_at)
       SELECT m.id, %(program)s, 0, 0, 0, 0, m.joined_at FROM programs_member m""",
    """INSERT INTO programs_purchase (store_id, member_id, external_id, amount, currency,
           occurred_at, recorded_at)
       SELECT (SELECT min(id) FROM programs_store) + (g %% %(stores)s),
              (SELECT min(id) FROM programs_member) + floor(random() * %(members)s)::int,
              'R' || g, round((5 + random() * 195)::numeric, 2), 'EUR', t, t
       FROM (SELECT g, now() - random() * interval '730 days' AS t
             FROM generate_series(1, %(purchases)s) g) s
       ORDER BY t""",
    """INSERT INTO programs_purchaseitem (purchase_id, sku, category, quantity, unit_price)
       SELECT p.id, 'sku-' || (p.id %% 50), (%(categories)s::text[])[1 + (p.id %% 6)], 1, p.amount
       FROM programs_purchase p ORDER BY p.id""",
    """INSERT INTO programs_pointlot (membership_id, points, remaining, is_pending, available_at,
           expires_at, created_at, purchase_id)
       SELECT ms.id, floor(p.amount)::int + 1,
              CASE WHEN p.id %% 10 = 0 THEN floor(p.amount)::int + 1 ELSE 0 END, false,
              p.occurred_at, p.occurred_at + interval '12 months', p.occurred_at, p.id
       FROM programs_purchase p JOIN programs_membership ms ON ms.member_id = p.member_id
       ORDER BY p.id""",
    """INSERT INTO programs_ledgerentry (membership_id, kind, points, balance_after, created_at,
           purchase_id, lot_id, reason)
       SELECT l.membership_id, 'earn', l.points, 0, l.created_at, l.purchase_id, l.id, ''
       FROM programs_pointlot l ORDER BY l.id""",
    """INSERT INTO programs_ledgerentry (membership_id, kind, points, balance_after, created_at,
           reason)
       SELECT (SELECT min(id) FROM programs_membership) + floor(random() * %(members)s)::int,
              (ARRAY['bonus', 'redeem', 'expire'])[1 + (g %% 3)],
              CASE WHEN g %% 3 = 0 THEN 25 ELSE -40 END, 0,
              t, ''
       FROM (SELECT g, now() - random() * interval '730 days' AS t
             FROM generate_series(1, %(others)s) g) s
       ORDER BY t""",
    """UPDATE programs_membership ms SET balance = t.total, lifetime_earned = t.earned
       FROM (SELECT membership_id, SUM(points) AS total,
                    SUM(points) FILTER (WHERE points > 0) AS earned
             FROM programs_ledgerentry GROUP BY membership_id) t
       WHERE t.membership_id = ms.id""",
    "VACUUM ANALYZE",
]


def fill(members, purchases, entries):
    from django.db import connection

    from programs.models import Program

    program = Program.objects.create(name="Bench", slug="bench", expiry="after_earning",
                                     expiry_months=12, point_value="0.01")
    sizes = {"stores": STORES, "members": members, "purchases": purchases,
             "others": entries - purchases, "program": program.pk, "categories": CATEGORIES}
    with connection.cursor() as cursor:
        for statement in FILL:
            started = time.perf_counter()
            cursor.execute(statement, sizes)
            print(f"  {statement.split()[0]} {' '.join(statement.split()[1:3])}: "
                  f"{time.perf_counter() - started:.1f} s")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=200_000)
    parser.add_argument("--purchases", type=int, default=2_000_000)
    parser.add_argument("--entries", type=int, default=5_000_000)
    args = parser.parse_args()
    if args.entries < args.purchases:
        sys.exit("--entries must be at least --purchases (each purchase has its earn entry).")
    admin_url, bench_url = database_urls()
    admin(admin_url, f"DROP DATABASE IF EXISTS {DB_NAME}")
    admin(admin_url, f"CREATE DATABASE {DB_NAME}")
    os.environ["DATABASE_URL"] = bench_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty_site.settings")
    import django

    django.setup()
    from django.core.management import call_command

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"Filling {DB_NAME}: {args.members:,} members, {args.purchases:,} purchases, "
          f"{args.entries:,} ledger entries …")
    fill(args.members, args.purchases, args.entries)
    from programs.rollups import roll_up_points, roll_up_purchases

    rolled = time.perf_counter()
    days = roll_up_points()
    print(f"  rolled up {days} days of points: {time.perf_counter() - rolled:.1f} s")
    rolled = time.perf_counter()
    days = roll_up_purchases()["days"]
    print(f"  rolled up {days} days of purchases: {time.perf_counter() - rolled:.1f} s")
    from django.db import connection

    # The roll-ups were written after the VACUUM ANALYZE above: without statistics the planner
    # takes a period's quarter of a million roll-up rows for a few thousand. Autovacuum would
    # analyse them in a while, as it does in a shop.
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"Done in {time.perf_counter() - started:.0f} s. Time it: bench/dashboard.py")


if __name__ == "__main__":
    main()
