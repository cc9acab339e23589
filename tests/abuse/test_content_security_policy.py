"""A Content Security Policy is in force on every page: each URL pattern of the site (walked as
the isolation meta-test walks the portal's) answers with a policy whose scripts come from
Patron alone, with no 'unsafe-inline' or 'unsafe-eval'. The Django admin is left out on purpose
(settings.CONTENT_SECURITY_POLICY). The browser tests fail on any violation the policy reports
(tests/e2e/conftest.py)."""

import pytest
from django.urls import reverse

from ..factories import MemberFactory
from .urls import every_named_pattern, sample_arguments

pytestmark = pytest.mark.django_db


PAGES = sorted({name: reverse(name, kwargs=sample_arguments(pattern))
                for name, pattern in every_named_pattern() if not name.startswith("admin:")}.items())


def directives(policy):
    parsed = {}
    for directive in policy.split(";"):
        name, *sources = directive.split()
        parsed[name] = sources
    return parsed


def test_the_walk_finds_both_front_doors_accounts_and_the_api():
    names = {name.split(":")[0] for name, _url in PAGES}
    assert {"portal", "staff", "api", "account_login"} <= names
    assert len(PAGES) > 100


def test_every_page_answers_with_a_strict_policy(client, manager):
    MemberFactory(user=manager)  # a manager with a member card: both front doors open
    client.force_login(manager)
    missing, loose = [], []
    for name, url in PAGES:
        policy = client.get(url).get("Content-Security-Policy")
        if policy is None:
            missing.append(name)
            continue
        parsed = directives(policy)
        scripts = parsed.get("script-src", parsed.get("default-src"))
        if scripts != ["'self'"] or parsed.get("object-src") != ["'none'"]:
            loose.append((name, policy))
    assert not missing, f"no Content-Security-Policy on: {missing}"
    assert not loose, f"a policy that lets other scripts run: {loose}"
