"""The README's first command: everything runs on the embedded defaults, worker included.

Starts `manage.py up` as a new user would (SQLite, no Redis), signs in as the demo member over
HTTP, asks for a password reset, and waits for the embedded worker to write that email out.
"""

import http.cookiejar
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(check, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def running_site(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in {"DATABASE_URL", "REDIS_URL", "EMAIL_URL", "DJANGO_SETTINGS_MODULE"}}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", PATRON_VAR_DIR=str(tmp_path / "var"),
               SITE_URL=f"http://127.0.0.1:{port}")
    log = (tmp_path / "up.log").open("w")
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", "up", f"127.0.0.1:{port}"], cwd=ROOT, env=env,
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"

    def healthy():
        try:
            return urllib.request.urlopen(f"{base}/healthz", timeout=2).status == 200  # noqa: S310 - our own http URL
        except OSError:
            return False

    try:
        wait_for(healthy, 120, "the site to answer")
        yield base, tmp_path, process
    finally:
        if process.poll() is None:  # the test stops it itself when it gets that far
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        log.close()


def post_form(opener, url, data):
    page = opener.open(url).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    body = urllib.parse.urlencode({"csrfmiddlewaretoken": token, **data}).encode()
    request = urllib.request.Request(url, data=body, headers={"Referer": url})  # noqa: S310
    return opener.open(request)


def test_up_serves_the_demo_shop_and_runs_the_worker(running_site):
    base, tmp_path, process = running_site
    output = (tmp_path / "up.log").read_text()
    assert "member@example.com" in output and "manager@example.com" in output

    member = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    response = post_form(member, f"{base}/accounts/login/",
                         {"login": "member@example.com", "password": "patron-demo"})
    assert response.url == f"{base}/"
    assert "Hello, Mia" in response.read().decode()

    staff = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    response = post_form(staff, f"{base}/staff/login/",
                         {"login": "manager@example.com", "password": "patron-demo", "next": "/staff/"})
    assert response.url == f"{base}/staff/"

    anonymous = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
    post_form(anonymous, f"{base}/accounts/password/reset/", {"email": "member@example.com"})
    mail_dir = tmp_path / "var" / "mail"

    def reset_emails():
        # The demo's own emails (tier upgrades of its customers) may go out first.
        files = mail_dir.glob("*.log") if mail_dir.exists() else []
        return [f for f in files if "/accounts/password/reset/key/" in f.read_text()]

    sent = wait_for(reset_emails, 90, "the embedded worker to send the password reset")
    assert "To: member@example.com" in sent[0].read_text()

    # Stopped by TERM alone (a process manager's stop, not a terminal's Ctrl+C), it takes the
    # worker with it: nothing of the process group is left.
    process.send_signal(signal.SIGTERM)
    process.wait(timeout=30)

    def group_gone():
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            return True
        return False

    wait_for(group_gone, 30, "the worker to stop with the site")
