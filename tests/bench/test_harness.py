"""Keeps bench/ from rotting: the load generator, pgbench, the memory readings and the scripts'
command lines, each run for a moment at a tiny size. No figure is asserted: speed is for bench/."""

import os
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings

from bench._harness import Request, children, cpu_seconds, hammer, pgbench, rss
from tests.conftest import needs_postgres

ROOT = Path(__file__).resolve().parents[2]


class Answer(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as gunicorn answers

    def do_GET(self):
        status = 200 if self.path == "/ok" else 500
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def test_hammer_counts_requests_and_the_unexpected_answers(server):
    paths = []

    def next_request(n, rng):
        paths.append(n)
        return Request("GET", "/ok" if n % 2 else "/bad")

    figures = hammer(server, next_request, 3, total=20, first=100)

    assert sorted(paths) == list(range(100, 120))
    assert len(figures.latencies) == 20
    assert figures.errors == [500] * 10
    assert figures.rate > 0


def test_hammer_stops_after_its_seconds(server):
    figures = hammer(server, lambda n, rng: Request("GET", "/ok"), 2, seconds=0.3)

    assert figures.latencies
    assert not figures.errors
    assert figures.line().split()[0].replace(",", "").isdigit()


def test_memory_and_cpu_are_read_for_a_process_and_its_children():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert child.pid in children(os.getpid())
        assert rss(child.pid) > 0
    finally:
        child.kill()
        child.wait()
    assert rss(child.pid) == 0
    assert cpu_seconds(os.getpid()) > 0


@needs_postgres()
@pytest.mark.skipif(not shutil.which("pgbench"), reason="needs pgbench (postgresql-client)")
def test_pgbench_reads_every_transaction_from_its_log(db):
    database = settings.DATABASES["default"]
    password = f":{quote(database['PASSWORD'])}" if database["PASSWORD"] else ""
    url = (f"postgresql://{database['USER']}{password}@{database['HOST'] or 'localhost'}:"
           f"{database['PORT'] or 5432}/{database['NAME']}")

    figures = pgbench(url, {"one.sql": "SELECT 1;\n"}, clients=1, seconds=1)

    assert figures.latencies
    assert not figures.errors


@pytest.mark.parametrize("script", ["load.py", "soak.py", "purchases_api.py"])
def test_the_scripts_start(script):
    result = subprocess.run([sys.executable, ROOT / "bench" / script, "--help"],  # noqa: S603
                            capture_output=True, text=True, check=False)

    assert result.returncode == 0, result.stderr
    assert "--concurrency" in result.stdout
