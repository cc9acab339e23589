"""Fixtures shared by every test: the three standing users, and Celery run in-process.

On CI (CI=true) the suite must run on PostgreSQL and Redis: a missing service fails the run
instead of quietly skipping the tests that need it.
"""

import math
import os

import pytest
from django.conf import settings
from django.core.cache import cache

from loyalty_site.celery import app as celery_app
from loyalty_site.roles import CASHIER, MANAGER
from programs import business

from .factories import DEFAULT_PASSWORD, MemberFactory, UserFactory

ON_CI = os.environ.get("CI", "").lower() == "true"


def pytest_configure(config):
    engine = settings.DATABASES["default"]["ENGINE"]
    if ON_CI and engine != "django.db.backends.postgresql":
        raise pytest.UsageError("CI must run the tests on PostgreSQL: set DATABASE_URL.")
    if ON_CI and not settings.REDIS_URL:
        raise pytest.UsageError("CI must run the tests with Redis: set REDIS_URL.")


def needs_postgres():
    return pytest.mark.skipif(
        settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
        reason="needs PostgreSQL (set DATABASE_URL); CI always runs it",
    )


@pytest.fixture(autouse=True)
def fresh_cache():
    """Rate limits live in the cache (Redis on CI); each test starts with none used."""
    cache.clear()


@pytest.fixture(autouse=True)
def no_business_profile_yet(monkeypatch):
    """Each test starts with no business profile saved (docs/onboarding.md), as its database
    does; the first-run setup's save makes programs.business read the row again. Otherwise the
    read would cost a query whenever its 30-second memo ran out, and query counts would depend
    on the clock."""
    monkeypatch.setattr(business, "_memo", {"row": {}, "until": math.inf})


@pytest.fixture(autouse=True)
def celery_in_process():
    """Run tasks inline, as the worker would; the real-worker test switches this off."""
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True
    yield
    celery_app.conf.task_always_eager = False


@pytest.fixture
def password():
    return DEFAULT_PASSWORD


@pytest.fixture
def manager(db):
    return UserFactory(email="manager@example.com", name="Maria Manager", role=MANAGER)


@pytest.fixture
def cashier(db):
    return UserFactory(email="cashier@example.com", name="Carl Cashier", role=CASHIER)


@pytest.fixture
def member(db):
    """An outsider to the staff dashboard: a customer with a member card."""
    return MemberFactory(user__email="member@example.com", user__name="Mia Member")
