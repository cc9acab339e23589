"""A fuzz run of the integration API: schemathesis reads the published OpenAPI schema and sends
every operation generated input (valid and not), in process through the WSGI app, with a
store's API key. Whatever it sends, the API answers 2xx or 4xx, never 5xx, and every answer is
one the schema documents: its status, content type, headers and body.

Examples are bounded per operation so the run stays under a minute; what a run found is fixed
in the product and kept by a regression test at the end of this file.
"""

import re

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from programs import services

from ..factories import MemberFactory

pytestmark = pytest.mark.django_db

EXAMPLES_PER_OPERATION = 30
# Not "valid input is accepted": the schema cannot say which member numbers exist, so a
# well-formed purchase for an unknown member rightly answers 400.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]


@pytest.fixture
def wsgi_app():
    """The real WSGI app, kept off closing the test's connection after each request (which
    would lose the test transaction), as Django's own test client does."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield get_wsgi_application()
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def known(shop, store, coffee):
    """Things for the generated input to find: a member with points, a receipt, a code."""
    member = MemberFactory()
    purchase, _ = services.record_purchase(store=store, member=member, external_id="FUZZ-1",
                                           amount="500.00")
    code = services.redeem_reward(member=member, reward=coffee)
    return {"member": member.number, "member_number": member.number,
            "external_id": purchase.external_id, "code": code.code, "reward": coffee.pk,
            "currency": "SEK", "amount": "12.50"}


@pytest.fixture
def api_schema(wsgi_app, known):
    return schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", wsgi_app)


@pytest.fixture
def api_key(api_schema, store):
    return services.create_api_key(store=store, name="fuzz")[1]


def cases(operation, known):
    """Input that fits the schema and input that does not; in part of it, the names of a real
    member, receipt, reward and code, so that requests reach the services, not only a 404."""

    def naming_known_things(case_and_flag):
        case, use_known = case_and_flag
        if use_known:
            for part in (case.path_parameters, case.body):
                if isinstance(part, dict):
                    part.update({k: v for k, v in known.items() if k in part})
        return case

    generated = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                          operation.as_strategy(GenerationMode.NEGATIVE))
    return st.tuples(generated, st.booleans()).map(naming_known_things)


def test_no_input_makes_the_api_fail_with_a_server_error(api_schema, api_key, known):
    # Hypothesis driven directly over each operation's strategy rather than through
    # schemathesis's pytest plugin, whose fixture-loaded schemas do not run under pytest 9.
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 7

    for operation in operations:
        @given(case=cases(operation, known))
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True,
                  database=None, suppress_health_check=list(HealthCheck))
        def call(case):
            case.call_and_validate(headers={"Authorization": f"Bearer {api_key}"},
                                   checks=CHECKS)

        call()


# --- What fuzzing found ----------------------------------------------------------------------


def test_a_body_that_is_not_json_gets_the_documented_400_shape(api_key, store):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key}")
    response = client.post("/api/v1/members", b"\xf4{not json", content_type="application/json")
    assert response.status_code == 400
    assert list(response.json()) == ["non_field_errors"]
    assert "JSON parse error" in response.json()["non_field_errors"][0]


def test_the_schema_says_which_idempotency_keys_are_accepted(api_schema):
    parameter = next(p for p in api_schema.raw_schema["paths"]["/api/v1/purchases"]["post"]["parameters"]
                     if p["name"] == "Idempotency-Key")
    pattern = re.compile(parameter["schema"]["pattern"])
    assert pattern.match("0b4f8a2e-3c1d-4e5f-9a6b-7c8d9e0f1a2b") and pattern.match("k")
    assert not pattern.match("é") and not pattern.match("x" * 201) and not pattern.match(" ")
