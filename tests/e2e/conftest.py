"""Browser tests: Playwright's sync API driving Debian's Chromium against pytest-django's live server.

Never a downloaded browser: the tests use /usr/bin/chromium. Without it every test in this
folder is skipped with the reason, except on CI (CI=true), where a missing browser fails the run.
Screenshots land in tests/e2e/artifacts/ (git-ignored), named after the test and the screen.
"""

import os
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from ..conftest import ON_CI

try:
    from playwright.sync_api import expect, sync_playwright
except ImportError:  # _browser_available then skips (or, on CI, fails) every test, with the reason
    expect = sync_playwright = None

# Playwright's sync API runs an event loop in this thread; Django's ORM, called by the tests
# and the factories, would otherwise refuse to run "in an async context".
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-gpu",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).parent / "artifacts"

PHONE = {"width": 390, "height": 844}
TABLET = {"width": 820, "height": 1180}
DESKTOP = {"width": 1280, "height": 800}

# Each expectation waits at most this long (ms): the live server answers in far less.
TIMEOUT_MS = 10_000


def _unavailable():
    """Why the browser tests cannot run here, or None when they can."""
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        return f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium)"
    if sync_playwright is None:
        return "browser tests need the playwright package (pip install -e '.[dev]')"
    return None


@pytest.fixture(scope="session", autouse=True)
def _browser_available():
    """Skip the whole folder when there is no browser; on CI, fail instead."""
    reason = _unavailable()
    if reason and ON_CI:
        pytest.fail(f"CI must run the browser tests: {reason}", pytrace=False)
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def browser(_browser_available):
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser, live_server):
    """open_page(viewport, as_user=None, locale="en-GB", touch=False) -> a fresh page (own
    cookies) on the live server.

    Relative URLs hit the live server. With `as_user` the page starts signed in as that person,
    without the sign-in form (the journeys that are about signing in use the form). `locale` is
    what the browser asks for (Accept-Language); `touch` gives a touch screen, for `tap()`.
    """
    expect.set_options(timeout=TIMEOUT_MS)
    contexts = []
    violations = []

    def open_(viewport=DESKTOP, *, as_user=None, locale="en-GB", touch=False):
        context = browser.new_context(base_url=live_server.url, viewport=viewport, locale=locale,
                                      has_touch=touch)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        if as_user is not None:
            client = Client()
            client.force_login(as_user)
            cookie = client.cookies[settings.SESSION_COOKIE_NAME]
            context.add_cookies([
                {"name": cookie.key, "value": cookie.value, "url": live_server.url},
            ])
        page = context.new_page()
        # Anything the Content Security Policy blocks is a bug: a page that relies on it breaks.
        page.on("console", lambda message: violations.append(f"{page.url}: {message.text}")
                if "Content Security Policy" in message.text else None)
        return page

    yield open_
    for context in contexts:
        context.close()
    assert violations == [], violations


@pytest.fixture
def screenshot(request):
    """screenshot(page, "what") saves artifacts/<test name>--<what>.png and returns its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    test_name = re.sub(r"[^\w-]+", "-", request.node.name.removeprefix("test_")).strip("-")

    def take(page, what, *, full_page=True):
        path = ARTIFACTS / f"{test_name}--{what}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return path

    return take
