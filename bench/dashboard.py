"""Benchmark: the metrics page cold and warm, the members list and a member's page, each beside
the raw SQL doing the equivalent aggregation, on the database bench/dashboard_data.py filled.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test .venv/bin/python bench/dashboard.py [--drop]

Pages are requested through Django's test client in this process, signed in as a manager, with
production settings (DEBUG off, static files collected into a temporary directory, the cache in
Redis when REDIS_URL is set, as in production; the cache's database is cleared, so give it one
of its own), so the figures are the server's work without a network. "Cold" clears the figure cache first
(the database's own buffers stay warm: the machine is shared, read the ratios); "first look"
also deletes the customer figures of closed days that the page keeps (CustomerFigures), as on
the first look at a period or store, "closed days kept" is every later look. The raw SQL is
what PostgreSQL needs at least for the same figures: one grouped pass over the period's
purchases and ledger entries for the metrics page, the page of rows for the lists.
Targets: metrics page under 1 s cold and 150 ms warm; members list and member page under 100 ms.
"""

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from bench._harness import production_env  # noqa: E402
from bench.dashboard_data import DB_NAME, admin, database_urls  # noqa: E402

REPEAT = 5

RAW_METRICS = [
    # Customers, repeaters, purchases and sales per week over the series, and the period.
    """SELECT b, COUNT(*), COUNT(*) FILTER (WHERE n > 1), SUM(n), SUM(s)
       FROM (SELECT member_id, date_trunc('week', occurred_at) AS b, COUNT(*) AS n, SUM(amount) AS s
             FROM programs_purchase WHERE occurred_at >= now() - interval '13 weeks'
             GROUP BY 1, 2) t GROUP BY b""",
    # Points earned, spent and expired per week.
    """SELECT date_trunc('week', created_at), kind, SUM(points), COUNT(DISTINCT membership_id)
       FROM programs_ledgerentry WHERE created_at >= now() - interval '13 weeks' GROUP BY 1, 2""",
    "SELECT SUM(balance) FROM programs_membership",
    "SELECT COUNT(*), COUNT(*) FILTER (WHERE joined_at >= now() - interval '30 days') FROM programs_member",
]
RAW_MEMBERS = [
    "SELECT COUNT(*) FROM programs_member",
    """SELECT m.id, m.number, u.email, u.name, u.phone FROM programs_member m
       JOIN loyalty_site_user u ON u.id = m.user_id ORDER BY m.joined_at DESC, m.id DESC LIMIT 50""",
]
RAW_MEMBERS_BY_NAME = [
    "SELECT COUNT(*) FROM programs_member",
    """SELECT m.id, m.number, u.email, u.name, u.phone FROM programs_member m
       JOIN loyalty_site_user u ON u.id = m.user_id ORDER BY u.name, m.id LIMIT 50""",
]
RAW_MEMBER = [
    "SELECT * FROM programs_membership WHERE member_id = %(member)s",
    """SELECT e.* FROM programs_ledgerentry e JOIN programs_membership ms ON ms.id = e.membership_id
       WHERE ms.member_id = %(member)s ORDER BY e.created_at DESC LIMIT 50""",
    "SELECT * FROM programs_purchase WHERE member_id = %(member)s ORDER BY occurred_at DESC LIMIT 50",
]


def timed(action, repeat=REPEAT):
    """The median of `repeat` runs, in milliseconds."""
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        runs.append((time.perf_counter() - started) * 1000)
    return statistics.median(runs)


def raw(statements, params=None):
    from django.db import connection

    def run():
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement, params or {})
                cursor.fetchall()
    return run


def get(client, url, queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def run():
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        queries.append(len(captured))
    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--drop", action="store_true", help="drop the database afterwards")
    args = parser.parse_args()
    admin_url, bench_url = database_urls()
    var_dir = Path(tempfile.mkdtemp(prefix="patron-bench-dashboard-"))
    os.environ.update(production_env(bench_url, redis_url=os.environ.get("REDIS_URL"),
                                     var_dir=var_dir))
    os.environ["SHOP_CURRENCY"] = "EUR"  # the currency bench/dashboard_data.py writes
    import django

    django.setup()
    from django.core.management import call_command

    call_command("collectstatic", interactive=False, verbosity=0)
    from django.core.cache import cache
    from django.db.models import Count
    from django.test import Client
    from django.urls import reverse

    from loyalty_site.roles import MANAGER
    from programs.models import CustomerFigures, Member
    from tests.factories import UserFactory

    try:
        if not Member.objects.exists():
            sys.exit(f"{DB_NAME} is empty: run bench/dashboard_data.py first.")
        manager = UserFactory(email=f"bench-manager-{time.time_ns()}@example.com", role=MANAGER)
        client = Client(HTTP_HOST="127.0.0.1")
        client.force_login(manager)
        member = (Member.objects.annotate(n=Count("purchases")).order_by("-n").first())
        pages = {
            "metrics": reverse("staff:metrics"),
            "members": reverse("staff:members"),
            "members by name": reverse("staff:members") + "?sort=name",
            "member": reverse("staff:member", args=[member.number]),
        }
        queries = {name: [] for name in pages}
        queries["warm"] = []

        def cold():
            cache.clear()
            get(client, pages["metrics"], queries["metrics"])()

        def first_look():
            CustomerFigures.objects.all().delete()
            cold()

        results = [
            ("metrics page, cold, first look", timed(first_look, 3), timed(raw(RAW_METRICS)), 1000,
             queries["metrics"]),
            ("metrics page, cold, closed days kept", timed(cold, 3), timed(raw(RAW_METRICS)), 1000,
             queries["metrics"]),
            ("metrics page, warm", timed(get(client, pages["metrics"], queries["warm"])),
             timed(raw(RAW_METRICS)), 150, queries["warm"]),
            ("members list", timed(get(client, pages["members"], queries["members"])),
             timed(raw(RAW_MEMBERS)), 100, queries["members"]),
            ("members list, sorted by name",
             timed(get(client, pages["members by name"], queries["members by name"])),
             timed(raw(RAW_MEMBERS_BY_NAME)), 100, queries["members by name"]),
            (f"member page ({member.n} purchases)",
             timed(get(client, pages["member"], queries["member"])),
             timed(raw(RAW_MEMBER, {"member": member.pk})), 100, queries["member"]),
        ]
        print(f"\nDashboard on {Member.objects.count():,} members (medians, ms; load average "
              f"{os.getloadavg()[0]:.1f})")
        print(f"  {'page':38} {'Patron':>9} {'raw SQL':>9} {'ratio':>7} {'queries':>8}  target")
        for name, patron, sql, target, captured in results:
            verdict = "met" if patron < target else "MISSED"
            print(f"  {name:38} {patron:9.1f} {sql:9.1f} {patron / sql:7.1f} "
                  f"{max(captured) if captured else '':>8}  < {target} ms: {verdict}")
    finally:
        from django.db import connections

        connections.close_all()
        shutil.rmtree(var_dir, ignore_errors=True)
        if args.drop:
            admin(admin_url, f"DROP DATABASE IF EXISTS {DB_NAME}")


if __name__ == "__main__":
    main()
