"""Private servers for the fault tests: a Redis and a PostgreSQL cluster of their own, on free
ports, that a test may stop and start as it likes, and Patron's web and worker processes pointed
at them by their environment.

The shared services (PostgreSQL on 5432, Redis on 6379) are never stopped: other people use them.
Without redis-server or PostgreSQL's binaries the tests skip, except on CI, where they fail.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
from django.db import connection, connections
from django.db.backends.base.creation import TEST_DATABASE_PREFIX

from ..conftest import ON_CI

pytestmark = pytest.mark.faults

REPO = Path(__file__).resolve().parents[2]
PG_BIN = Path("/usr/lib/postgresql/15/bin")


def missing(reason):
    """Skip for a developer without the tool; on CI a missing tool is a broken machine."""
    if ON_CI:
        pytest.fail(f"{reason} (CI must run the fault tests)")
    pytest.skip(reason)


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(condition, *, timeout, what, log=None):
    """Poll `condition` until it is true; fail after `timeout` seconds, with the process log
    `log` (a path) as it is then."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"waited {timeout} s for {what}"
                         + (f"; the log:\n{log.read_text()}" if log else ""))


def port_open(port):
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def stop_process(process):
    """Kill the process and its children at once: nothing of theirs is worth a clean stop."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)


class PrivateRedis:
    """A redis-server without persistence; stop() and start() keep the port."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self):
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        wait_until(lambda: port_open(self.port), timeout=10, what="redis-server")

    def flush(self):
        redis.Redis.from_url(self.url).flushall()

    def stop(self):
        stop_process(self.process)
        wait_until(lambda: not port_open(self.port), timeout=10, what="redis-server to stop")


@pytest.fixture(autouse=True)
def _no_tasks_left_for_the_next_test(request):
    """A test's processes are killed, so a task they left would reach the next test's worker."""
    yield
    if "private_redis" in request.fixturenames:
        request.getfixturevalue("private_redis").flush()


@pytest.fixture(scope="session")
def private_redis():
    if shutil.which("redis-server") is None:
        missing("needs redis-server for a private Redis")
    server = PrivateRedis()
    server.start()
    yield server
    stop_process(server.process)


class PrivateCluster:
    """A throwaway PostgreSQL cluster (initdb) in a temporary folder, owned by the postgres user
    when the tests run as root, as PostgreSQL refuses to run as root."""

    def __init__(self, folder):
        self.folder = folder
        self.data = folder / "data"
        self.port = free_port()
        self.as_owner = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.user = "postgres" if os.geteuid() == 0 else os.environ.get("USER", "postgres")

    def run(self, *command):
        subprocess.run([*self.as_owner, *command], check=True, capture_output=True, cwd=self.folder)

    def init(self):
        if self.as_owner:
            shutil.chown(self.folder, "postgres")
        self.run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", self.user, "-A", "trust",
                 "--no-sync", "--no-instructions")
        # Throwaway data: durability costs time and buys nothing here.
        with open(self.data / "postgresql.conf", "a") as conf:
            conf.write(f"port = {self.port}\nlisten_addresses = '127.0.0.1'\n"
                       f"unix_socket_directories = '{self.folder}'\n"
                       "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n")

    def pg_ctl(self, *args):
        self.run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "log"),
                 "-w", "-t", "30", *args)

    def url(self, database):
        return f"postgres://{self.user}@127.0.0.1:{self.port}/{database}"


@pytest.fixture(scope="session")
def private_postgres(django_db_setup, django_db_blocker):
    """A cluster with a copy of the test database (schema and all, from pg_dump: faster than
    running the migrations again) as the database `patron`."""
    if not (PG_BIN / "initdb").exists():
        missing(f"needs PostgreSQL 15's binaries in {PG_BIN} for a private cluster")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        missing("needs runuser to run PostgreSQL as the postgres user")
    folder = Path(tempfile.mkdtemp(prefix="patron-faults-pg-"))
    folder.chmod(0o755)
    cluster = PrivateCluster(folder)
    try:
        cluster.init()
        cluster.pg_ctl("start")
        cluster.run(str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(cluster.port),
                    "-U", cluster.user, "patron")
        with django_db_blocker.unblock():
            tests_db = dict(connection.settings_dict)
        if not tests_db["NAME"].startswith(TEST_DATABASE_PREFIX):
            # Outside a test the connection may still carry the name from DATABASE_URL.
            tests_db["NAME"] = connection.creation._get_test_db_name()
        dump = subprocess.run(
            [str(PG_BIN / "pg_dump"), "--no-owner", "--no-privileges",
             "-h", tests_db["HOST"] or "127.0.0.1", "-p", str(tests_db["PORT"] or 5432),
             "-U", tests_db["USER"], tests_db["NAME"]],
            env={**os.environ, "PGPASSWORD": tests_db.get("PASSWORD") or ""},
            check=True, capture_output=True).stdout
        subprocess.run([str(PG_BIN / "psql"), "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                        "-p", str(cluster.port), "-U", cluster.user, "patron"],
                       input=dump, check=True, capture_output=True)
        yield cluster
    finally:
        if (cluster.data / "postmaster.pid").exists():
            cluster.pg_ctl("stop", "-m", "immediate")
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def on_private_postgres(private_postgres, django_db_blocker):
    """Within `with on_private_postgres():`, this process's ORM uses the private cluster."""

    @contextmanager
    def use():
        db = connections["default"]
        saved = dict(db.settings_dict)
        db.close()
        db.settings_dict.update(HOST="127.0.0.1", PORT=str(private_postgres.port),
                                USER=private_postgres.user, PASSWORD="", NAME="patron")
        try:
            with django_db_blocker.unblock():
                yield
        finally:
            db.close()
            db.settings_dict.clear()
            db.settings_dict.update(saved)

    return use


def database_url_of_tests():
    """The test database pytest-django made, as a URL for Patron's other processes."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def patron_env(tmp_path):
    """patron_env(database_url, redis_url) -> the environment of a production-like process."""

    def make(database_url, redis_url):
        return {
            **os.environ,
            "DATABASE_URL": database_url, "REDIS_URL": redis_url,
            "DEBUG": "false", "SECRET_KEY": "faults-" + "x" * 50, "SECURE_SSL_REDIRECT": "false",
            "ALLOWED_HOSTS": "127.0.0.1", "EMAIL_URL": "", "PATRON_VAR_DIR": str(tmp_path / "var"),
            "PYTHONUNBUFFERED": "1",
        }

    return make


@pytest.fixture
def start_process(tmp_path):
    """start_process(name, command, env) -> a Popen in its own process group, its output in
    tmp_path/<name>.log; every one still running is stopped after the test."""
    started = []

    def start(name, command, env):
        log = open(tmp_path / f"{name}.log", "ab")  # noqa: SIM115 - closed after the test
        process = subprocess.Popen(command, env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
        process.log_path = tmp_path / f"{name}.log"
        started.append((process, log))
        return process

    yield start
    for process, log in started:
        stop_process(process)
        log.close()


# A worker whose killed tasks come back within seconds rather than the production hour.
WORKER = """
import sys
from loyalty_site.celery import app
app.conf.broker_transport_options = {"visibility_timeout": 2, "unacked_restore_interval": 1,
                                     "unacked_restore_throttle": 1}
app.worker_main(["worker", "--pool", sys.argv[1], "--concurrency", "1", "--loglevel", "INFO",
                 "--without-gossip", "--without-mingle", "--without-heartbeat"])
"""


@pytest.fixture
def start_worker(start_process):
    """start_worker(env, pool="solo") -> a real Celery worker process."""

    def start(env, pool="solo"):
        return start_process("worker", [sys.executable, "-c", WORKER, pool], env)

    return start


@pytest.fixture
def start_web(start_process):
    """start_web(env) -> the base URL of gunicorn serving Patron, once it answers."""

    def start(env, *, workers=2):
        port = free_port()
        process = start_process("gunicorn", [
            sys.executable, "-m", "gunicorn", "loyalty_site.wsgi", "--workers", str(workers),
            "--threads", "4", "--bind", f"127.0.0.1:{port}", "--graceful-timeout", "2"], env)

        def answers():
            assert process.poll() is None, process.log_path.read_text()
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/", timeout=2)
            except urllib.error.HTTPError:
                return True
            except OSError:
                return False
            return True

        wait_until(answers, timeout=60, what="gunicorn", log=process.log_path)
        return f"http://127.0.0.1:{port}"

    return start
