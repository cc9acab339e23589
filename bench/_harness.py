"""What the bench scripts share: a database of their own on the DATABASE_URL server, Patron's
production processes (gunicorn, a Celery worker) as subprocesses, a load of keep-alive HTTP
connections, pgbench on the same server, and the figures they print.

Linux only: memory is read from /proc, as the machines that run Patron are.
"""

import http.client
import itertools
import os
import random
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]


# --- The database ----------------------------------------------------------------------------


def database_urls(name):
    """(the DATABASE_URL server's URL, the URL of the bench's own database `name` on it)."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("Set DATABASE_URL to a PostgreSQL server (the benchmark creates its own database).")
    return url, urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def libpq_url(url):
    """The URL as psycopg and pgbench spell it (Django's `postgres://` is not a libpq scheme)."""
    return url.replace("postgres://", "postgresql://", 1)


def admin(url, statement):
    import psycopg

    with psycopg.connect(libpq_url(url), autocommit=True) as conn:
        conn.execute(statement)


def ensure_services(db_url, redis_url=None):
    """Start PostgreSQL (and Redis) when they are down, as .ci/run does; never restart them."""
    server = urlsplit(db_url)
    is_ready = ["pg_isready", "-q", "-h", server.hostname or "127.0.0.1", "-p", str(server.port or 5432)]

    def postgres_ready():
        return subprocess.run(is_ready, check=False).returncode == 0  # noqa: S603 - fixed program

    if not postgres_ready():
        print("PostgreSQL is down; starting it.")
        subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", "15", "main", "start"],  # noqa: S607
                       check=True)
        _wait_for(postgres_ready, "PostgreSQL")
    if redis_url:
        import redis

        parts = urlsplit(redis_url)
        client = redis.Redis.from_url(redis_url)
        try:
            client.ping()
        except redis.ConnectionError:
            print("Redis is down; starting it.")
            command = ["redis-server", "--daemonize", "yes", "--port", str(parts.port or 6379),
                       "--save", "", "--appendonly", "no"]
            subprocess.run(command, check=True)  # noqa: S603 - a fixed program
            _wait_for(lambda: _pings(client), "Redis")


def _pings(client):
    import redis

    try:
        return client.ping()
    except redis.ConnectionError:
        return False


def _wait_for(ready, what, seconds=60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if ready():
            return
        time.sleep(0.3)
    sys.exit(f"{what} did not start")


# --- Patron's processes ----------------------------------------------------------------------


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def production_env(db_url, *, redis_url=None, var_dir=None):
    """Patron's settings as production has them (DEBUG off, WhiteNoise, the manifest of static
    files), on the bench database, for this process and the servers it starts. Without a
    `redis_url`, tasks and cache stay in each process (and no worker runs)."""
    env = {**os.environ, "DATABASE_URL": db_url, "DEBUG": "false", "SECRET_KEY": "bench-" + "x" * 50,
           "ALLOWED_HOSTS": "127.0.0.1", "SECURE_SSL_REDIRECT": "false", "SHOP_CURRENCY": "SEK",
           "LOG_LEVEL": "WARNING", "DJANGO_SETTINGS_MODULE": "loyalty_site.settings"}
    env.pop("REDIS_URL", None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    if var_dir:
        # Emails are written as files here (no EMAIL_URL), static files collected here.
        env.pop("EMAIL_URL", None)
        env["PATRON_VAR_DIR"] = str(var_dir)
        env["STATIC_ROOT"] = str(Path(var_dir) / "static")
    return env


def start_gunicorn(env, port, workers):
    process = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
        [sys.executable, "-m", "gunicorn", "loyalty_site.wsgi", "--workers", str(workers),
         "--bind", f"127.0.0.1:{port}", "--log-level", "warning"],
        cwd=ROOT, env=env, start_new_session=True,
    )

    def healthy():
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            return conn.getresponse().status == 200
        except OSError:
            return False

    try:
        _wait_for(healthy, "gunicorn")
    except SystemExit:
        stop(process)
        raise
    return process


def start_celery(env, log, concurrency=1):
    """A Celery worker as production runs it (prefork), answering pings before this returns.
    Its banner and warnings go to the file `log`."""
    with open(log, "ab") as output:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
            [sys.executable, "-m", "celery", "-A", "loyalty_site", "worker", "--concurrency",
             str(concurrency), "--loglevel", "WARNING", "--hostname", f"bench-{os.getpid()}@%h",
             "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=env, start_new_session=True, stdout=output, stderr=subprocess.STDOUT,
        )
    from loyalty_site.celery import app

    name = f"bench-{os.getpid()}@{socket.gethostname()}"
    try:
        _wait_for(lambda: any(name in reply for reply in app.control.ping(timeout=0.5)), "celery")
    except SystemExit:
        stop(process)
        raise
    return process


def stop(process):
    """TERM the master, which stops its workers, then KILL the group if it is not gone in 30 s."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def children(pid):
    """The pids of a process's children (gunicorn's workers, Celery's pool processes)."""
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except FileNotFoundError:  # a thread that ended while we looked
            continue
    return found


def rss(pid):
    """Resident memory of one process in bytes (0 once it is gone)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return 0
    match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
    return int(match.group(1)) * 1024 if match else 0


def cpu_seconds(pid):
    """CPU time one process has used, user and system, in seconds (0 once it is gone). On a
    shared machine this is steadier than the wall clock: waiting for a core costs none."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return 0.0
    # The fields after the command name (which may hold spaces); utime and stime are the 14th
    # and 15th of the line, in clock ticks.
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_average():
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


@dataclass
class Bench:
    """The bench database with Patron migrated on it and its settings loaded in this process;
    `var_dir` holds the static files and the emails the worker sends."""

    admin_url: str
    db_url: str
    env: dict
    var_dir: Path


def open_bench(db_name, *, redis_url=None):
    """(Re)create the database `db_name`, set Django up on it with production settings, migrate
    and collect the static files. Close it with close_bench()."""
    admin_url, db_url = database_urls(db_name)
    ensure_services(admin_url, redis_url)
    admin(admin_url, f"DROP DATABASE IF EXISTS {db_name}")
    admin(admin_url, f"CREATE DATABASE {db_name}")
    var_dir = Path(tempfile.mkdtemp(prefix=f"{db_name}-"))
    env = production_env(db_url, redis_url=redis_url, var_dir=var_dir)
    os.environ.update(env)
    if not redis_url:
        os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    return Bench(admin_url, db_url, env, var_dir)


def close_bench(bench, db_name):
    from django.db import connections

    connections.close_all()
    admin(bench.admin_url, f"DROP DATABASE IF EXISTS {db_name}")
    shutil.rmtree(bench.var_dir, ignore_errors=True)


# --- Load and figures ------------------------------------------------------------------------


def percentile(values, p):
    """The p-th percentile of `values` (seconds) in milliseconds."""
    if len(values) < 2:
        return (values[0] if values else 0) * 1000
    return statistics.quantiles(values, n=100)[p - 1] * 1000


@dataclass
class Figures:
    """What one measured run did: requests (or transactions), failures and how long each took."""

    name: str
    seconds: float = 0.0
    latencies: list = field(default_factory=list)
    errors: list = field(default_factory=list)

    @property
    def rate(self):
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def line(self):
        return (f"{len(self.latencies):9,} {len(self.errors):7,} {self.rate:9.1f} "
                f"{percentile(self.latencies, 50):8.1f} {percentile(self.latencies, 95):8.1f} "
                f"{percentile(self.latencies, 99):8.1f}")


FIGURES_HEADER = f"{'requests':>9} {'errors':>7} {'req/s':>9} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: str = ""
    headers: dict = field(default_factory=dict)
    expect: int = 200


def hammer(port, next_request, concurrency, *, total=None, seconds=None, first=0, name="",
           stop_event=None):
    """Send requests from `concurrency` keep-alive connections until `total` were sent or
    `seconds` have passed (or `stop_event` is set). `next_request(n, rng)` makes the n-th
    request, n counting from `first`. A response with another status than the request expects
    counts as an error; so does a dropped connection, which is then opened again."""
    figures = Figures(name)
    counter = iter(range(first, first + total)) if total is not None else itertools.count(first)
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds if seconds is not None else None

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        rng = random.Random()
        while True:
            with lock:
                n = next(counter, None)
            if n is None:
                return
            if (deadline and time.perf_counter() >= deadline) or (stop_event and stop_event.is_set()):
                return
            request = next_request(n, rng)
            started = time.perf_counter()
            try:
                conn.request(request.method, request.path, body=request.body or None,
                             headers=request.headers)
                response = conn.getresponse()
                response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as error:
                conn.close()
                status = type(error).__name__
            elapsed = time.perf_counter() - started
            with lock:
                figures.latencies.append(elapsed)
                if status != request.expect:
                    figures.errors.append(status)

    figures.seconds = in_threads(worker, concurrency)
    return figures


def in_threads(worker, concurrency):
    """Run `worker` in `concurrency` threads at once; the seconds until the last one returned."""
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def pgbench(db_url, scripts, *, clients, seconds, name=""):
    """Run pgbench with `scripts` ({file name: SQL}, picked at random per transaction) from
    `clients` connections for `seconds`, and read every transaction's latency from its log."""
    figures = Figures(name)
    with tempfile.TemporaryDirectory(prefix="pgbench-") as folder:
        files = []
        for file_name, sql in scripts.items():
            path = Path(folder) / file_name
            path.write_text(sql)
            files += ["-f", str(path)]
        started = time.perf_counter()
        result = subprocess.run(  # noqa: S603 - fixed program, our arguments
            ["pgbench", "-n", "-c", str(clients), "-j", str(min(clients, os.cpu_count() or 1)),  # noqa: S607
             "-T", str(max(1, round(seconds))), "-l", "--log-prefix", f"{folder}/log", *files,
             libpq_url(db_url)],
            capture_output=True, text=True, check=False,
        )
        figures.seconds = time.perf_counter() - started
        if result.returncode != 0:
            sys.exit(f"pgbench failed:\n{result.stderr}\nScripts: {list(scripts.values())}")
        # Each line: client, transaction, latency in µs, script, epoch seconds, µs.
        for log in Path(folder).glob("log.*"):
            for line in log.read_text().splitlines():
                columns = line.split()
                if columns[2] == "failed":
                    figures.errors.append(line)
                else:
                    figures.latencies.append(int(columns[2]) / 1e6)
        # pgbench's own clock leaves out connecting: the same as our warm keep-alive connections.
        match = re.search(r"^duration: (\d+) s", result.stdout, re.MULTILINE)
        if match:
            figures.seconds = int(match.group(1))
    return figures
