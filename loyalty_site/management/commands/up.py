"""Run all of Patron on this machine: migrations, demo data, worker, scheduler and web server."""

import os
import signal
import subprocess
import sys

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand

from loyalty_site.demo import build_demo_shop


class Command(BaseCommand):
    help = ("Set up the database with demo data, then run the web server with a Celery worker and "
            "scheduler beside it. For trying Patron out, not for production.")

    def add_arguments(self, parser):
        parser.add_argument("addrport", nargs="?", default="127.0.0.1:8000",
                            help="Where the web server listens (default 127.0.0.1:8000).")
        parser.add_argument("--no-demo", action="store_true", help="Do not add the demo shop.")

    def handle(self, *args, addrport, no_demo, **options):
        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("Database ready.")
        logins = None if no_demo else build_demo_shop()
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "loyalty_site", "worker", "--beat",
             "--loglevel=WARNING", "--pool=threads", "--concurrency=2"],
            env=os.environ.copy(),
        )
        base = f"http://{addrport if ':' in addrport else '127.0.0.1:' + addrport}"
        lines = [
            "",
            "Patron is running.",
            f"  Member portal:    {base}/",
            f"  Staff dashboard:  {base}/staff/",
        ]
        if logins:
            lines += [
                f"  Sign in as staff:  {logins.manager} (manager) or {logins.cashier} (cashier)",
                f"  Sign in as member: {logins.member}",
                f"  Password:          {logins.password}",
            ]
        mail = settings.EMAIL_FILE_PATH if hasattr(settings, "EMAIL_FILE_PATH") else "the mail server"
        broker = "Redis" if settings.REDIS_URL else "the embedded folder broker"
        lines += [
            f"  Emails are written to {mail}; the worker runs on {broker}.",
            "  Stop everything with Ctrl+C.",
            "",
        ]
        self.stdout.write(self.style.SUCCESS("\n".join(lines)))
        # A terminal's Ctrl+C reaches the worker too, but a plain kill, a container's or a process
        # manager's stop sends TERM to this process alone: exit so that the worker is stopped.
        signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(0))
        try:
            call_command("runserver", addrport, use_reloader=False, skip_checks=True)
        finally:
            worker.terminate()
            worker.wait(timeout=15)
