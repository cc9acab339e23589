"""What the fault tests do to Patron's processes: queue a task on a private broker, hold a row
lock so that a worker stops in the middle of its work, and call the API over HTTP."""

import json
import os
import signal
import threading
import urllib.error
import urllib.request
from pathlib import Path

from django.db import connection, transaction

from loyalty_site.celery import app as celery_app

from .conftest import wait_until


def send_task(task, broker_url, *args):
    """Put `task` on the queue of the broker at `broker_url`, as beat or a web process would."""
    celery_app.conf.task_always_eager = False
    with celery_app.connection_for_write(broker_url) as broker:
        task.apply_async(args=args, connection=broker)


class HeldLock:
    """Lock rows FOR UPDATE on a connection of its own until release(): a worker that reaches
    them waits there, in the middle of its task."""

    def __init__(self, queryset):
        self.queryset = queryset
        self.locked, self.released = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._hold)

    def _hold(self):
        try:
            with transaction.atomic():
                list(self.queryset.select_for_update().values_list("pk", flat=True))
                self.locked.set()
                self.released.wait(timeout=120)
        finally:
            connection.close()

    def __enter__(self):
        self.thread.start()
        assert self.locked.wait(timeout=10), "could not take the lock"
        return self

    def __exit__(self, *exc):
        self.released.set()
        self.thread.join(timeout=60)
        return False


def someone_waits_for_a_lock():
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity "
                       "WHERE datname = current_database() AND wait_event_type = 'Lock'")
        return cursor.fetchone()[0] > 0


def kill_when_blocked(worker, *, pool_process_only=False):
    """SIGKILL the whole worker (every process of it) once it waits for the held lock, or only
    the pool process running the task, as the kernel's out-of-memory killer would."""
    wait_until(someone_waits_for_a_lock, timeout=60,
               what="the worker to reach the locked row", log=worker.log_path)
    if pool_process_only:
        children = Path(f"/proc/{worker.pid}/task/{worker.pid}/children").read_text().split()
        assert len(children) == 1, children
        os.kill(int(children[0]), signal.SIGKILL)
    else:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)


def call_api(base_url, path, api_key, body=None, *, headers=None, timeout=10):
    """POST (or GET without a body) to the API; returns (status, parsed JSON or text)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{base_url}/api/v1/{path}", data=data, method="POST" if data else "GET",
        headers={"Authorization": f"Bearer {api_key}", "Content-Type": "application/json",
                 **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    try:
        return status, json.loads(text)
    except ValueError:
        return status, text
