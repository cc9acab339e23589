"""Benchmark: write 100,000 points-expiring reminders to the outbox, beside raw SQL doing the same.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test REDIS_URL=redis://127.0.0.1:6379/14 \
        .venv/bin/python bench/reminders.py [--members N]

It creates (and afterwards drops) a database `patron_bench_reminders` on the same server, gives
every member a lot of points that expires in a week, and times Patron's `send_expiry_reminders`:
per member it renders the email in their language (subject, text and HTML), with their balance
and the rewards they can afford, writes it to the outbox with its de-duplication key and queues
its sending task. A second run is timed too: it must write nothing. Then it times the least the
database must do for the same rows: one INSERT … SELECT of the outbox rows with the text put
together in SQL (no templates, no translation, no tasks). The machines are shared and noisy:
read the ratio, not the seconds.
"""

import argparse
import os
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DB_NAME = "patron_bench_reminders"

FILL = """
INSERT INTO loyalty_site_user (password, is_superuser, email, name, phone, language,
    emails_reminders, emails_offers, emails_surveys, is_staff, is_active, date_joined)
SELECT '!', false, 'bench' || g || '@example.com', 'Member ' || g, '',
       (ARRAY['en', 'pl', 'sv', 'ja'])[1 + g %% 4], true, false, true, false, true, now()
FROM generate_series(1, %(members)s) g;
INSERT INTO programs_member (user_id, number, joined_at)
SELECT id, lpad(id::text, 10, '0'), now() FROM loyalty_site_user;
INSERT INTO programs_membership (member_id, program_id, balance, pending, points_owed,
    lifetime_earned, joined_at)
SELECT m.id, %(program)s, 300, 0, 0, 300, now() FROM programs_member m;
INSERT INTO programs_pointlot (membership_id, points, remaining, is_pending, available_at,
    expires_at, created_at)
SELECT ms.id, 300, 300, false, now() - interval '300 days', now() + interval '7 days',
       now() - interval '300 days'
FROM programs_membership ms;
INSERT INTO programs_ledgerentry (membership_id, kind, points, balance_after, created_at, lot_id,
    reason)
SELECT l.membership_id, 'earn', 300, 300, l.created_at, l.id, '' FROM programs_pointlot l;
ANALYZE;
"""

RAW = """
INSERT INTO loyalty_site_outboxemail (kind, category, user_id, to_email, from_email, subject,
    body_text, body_html, headers, dedupe_key, status, attempts, last_error, created_at,
    next_attempt_at)
SELECT 'points_expiring', 'reminders', u.id, u.email, 'shop@example.com',
       l.remaining || ' points expire on ' || to_char(l.expires_at, 'YYYY-MM-DD'),
       'Hello ' || u.name || ', ' || l.remaining || ' of your points expire on '
           || to_char(l.expires_at, 'YYYY-MM-DD') || '. You have ' || ms.balance
           || ' points to spend now.',
       '<p>Hello ' || u.name || '</p>', '{}'::jsonb,
       'raw-points-expiring:' || ms.id || ':' || to_char(l.expires_at, 'YYYY-MM-DD'),
       'pending', 0, '', now(), now()
FROM programs_pointlot l
JOIN programs_membership ms ON ms.id = l.membership_id
JOIN programs_member m ON m.id = ms.member_id
JOIN loyalty_site_user u ON u.id = m.user_id
WHERE l.remaining > 0 AND NOT l.is_pending AND l.expires_at > now()
  AND l.expires_at <= now() + interval '14 days' AND u.emails_reminders;
"""


def urls():
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("Set DATABASE_URL to a PostgreSQL server (the benchmark creates its own database).")
    return url, urlunsplit(urlsplit(url)._replace(path=f"/{DB_NAME}"))


def admin(url, statement):
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True) as conn:
        conn.execute(statement)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--members", type=int, default=100_000)
    args = parser.parse_args()
    admin_url, db_url = urls()
    admin(admin_url, f"DROP DATABASE IF EXISTS {DB_NAME}")
    admin(admin_url, f"CREATE DATABASE {DB_NAME}")
    os.environ.update(DATABASE_URL=db_url, DEBUG="false", SECRET_KEY="bench-" + "x" * 50,
                      ALLOWED_HOSTS="localhost", SECURE_SSL_REDIRECT="false", LOG_LEVEL="WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "loyalty_site.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from loyalty_site.celery import app
    from loyalty_site.models import OutboxEmail
    from programs.models import Program, Reward
    from programs.reminders import send_expiry_reminders

    try:
        call_command("migrate", verbosity=0)
        program = Program.objects.create(name="Points", slug="points", expiry="after_earning",
                                         expiry_months=12, expiry_reminder_days=14)
        for cost in (100, 250, 600):
            Reward.objects.create(program=program, name=f"Reward {cost}", kind="free_product", cost=cost)
        with connection.cursor() as cursor:
            cursor.execute(FILL, {"members": args.members, "program": program.pk})

        started = time.perf_counter()
        queued = send_expiry_reminders()
        patron = time.perf_counter() - started
        started = time.perf_counter()
        again = send_expiry_reminders()
        rerun = time.perf_counter() - started

        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute(RAW)
            raw_rows = cursor.rowcount
        raw = time.perf_counter() - started
        assert OutboxEmail.objects.filter(kind="points_expiring").count() == 2 * args.members
    finally:
        connection.close()
        admin(admin_url, f"DROP DATABASE IF EXISTS {DB_NAME}")
        if os.environ.get("REDIS_URL"):
            app.control.purge()

    print(f"\nPoints-expiring reminders for {args.members:,} members")
    print(f"  Patron:   {patron:7.1f} s  ({queued:,} emails rendered in 4 languages, written and queued; "
          f"{queued / patron:,.0f}/s)")
    print(f"  re-run:   {rerun:7.1f} s  ({again} written: each reminder goes once)")
    print(f"  raw SQL:  {raw:7.1f} s  ({raw_rows:,} rows, text put together in SQL)")
    print(f"  ratio Patron / raw: {patron / raw:.0f}")


if __name__ == "__main__":
    main()
