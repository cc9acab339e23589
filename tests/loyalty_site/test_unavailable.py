"""PostgreSQL or Redis unreachable mid-request: a 503 that says to try again, never a 500 page.

The real outage (a private PostgreSQL restarted under load) is tests/faults/test_postgres_restart.py;
these check each kind of answer quickly, with the failure put in by hand.
"""

from unittest import mock

import pytest
from django.db import InterfaceError, OperationalError
from django.test import Client
from redis.exceptions import ConnectionError as RedisConnectionError

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    # As in production: the error becomes an answer instead of propagating to the test.
    return Client(raise_request_exception=False)


@pytest.mark.parametrize("error", [
    OperationalError("connection to server failed: Connection refused"),
    InterfaceError("connection already closed"),
    RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused."),
])
def test_a_page_answers_503_with_a_message_and_retry_after(client, error):
    with mock.patch("loyalty_site.views.site.connection.cursor", side_effect=error):
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "briefly unavailable" in response.content.decode()
    assert "Traceback" not in response.content.decode()


def test_the_api_answers_503_as_json_and_says_to_send_again_with_the_same_key(client):
    with mock.patch("programs.api.authentication.ApiKeyAuthentication.authenticate",
                    side_effect=OperationalError("the database system is starting up")):
        response = client.post("/api/v1/purchases", {}, content_type="application/json",
                               headers={"Authorization": "Bearer whatever"})
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert "same Idempotency-Key" in response.json()["detail"]


def test_any_other_error_is_still_a_500(client):
    with mock.patch("loyalty_site.views.site.connection.cursor", side_effect=ValueError("bug")):
        response = client.get("/healthz")
    assert response.status_code == 500
