"""The webhook pages: managers only, endpoints with their secret, the test button, the delivery
log with its filters, a delivery's detail, each in a bounded number of queries."""

import pytest
from django.urls import reverse

from loyalty_site import webhooks
from loyalty_site.models import StaffAction, WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def log(endpoint, manager):
    """Thirty deliveries of several types, some failed, and one delivered ping."""
    for n in range(30):
        event_type = ["points.earned", "tier.changed", "survey.answered"][n % 3]
        [delivery] = webhooks.publish(event_type, [n], lambda items: [{"n": item} for item in items])
        if n % 5 == 0:
            WebhookDelivery.objects.filter(pk=delivery.pk).update(
                status="failed", attempts=10, response_status=500, last_error="HTTP 500")
    return endpoint


def pages(endpoint, delivery):
    return [
        reverse("staff:webhooks"), reverse("staff:webhook_new"),
        reverse("staff:webhook_endpoint", args=[endpoint.pk]),
        reverse("staff:webhook_deliveries"), reverse("staff:webhook_delivery", args=[delivery.pk]),
    ]


def test_a_cashier_can_open_no_webhook_page_nor_post_to_one(client, cashier, endpoint, manager):
    delivery = webhooks.send_test_event(actor=manager, endpoint=endpoint)
    client.force_login(cashier)
    for url in pages(endpoint, delivery):
        assert client.get(url).status_code == 403, url
    for url in [reverse("staff:webhook_roll_secret", args=[endpoint.pk]),
                reverse("staff:webhook_test", args=[endpoint.pk]),
                reverse("staff:webhook_retry", args=[delivery.pk])]:
        assert client.post(url).status_code == 403, url
    assert client.post(reverse("staff:webhook_new"), {
        "url": "https://evil.example.com/", "event_types": ["points.earned"]}).status_code == 403
    assert WebhookEndpoint.objects.count() == 1
    assert "/staff/webhooks/" not in client.get(reverse("staff:home")).content.decode()


def test_a_manager_adds_an_endpoint_and_sees_its_secret(client, manager, settings):
    settings.WEBHOOK_ALLOW_HTTP = False
    client.force_login(manager)
    assert "/staff/webhooks/" in client.get(reverse("staff:home")).content.decode()
    response = client.post(reverse("staff:webhook_new"), {
        "url": "http://crm.example.com/hooks", "event_types": ["points.earned"], "is_active": "on"})
    assert response.status_code == 200
    assert "Enter a URL that starts with https://." in response.content.decode()
    assert not WebhookEndpoint.objects.exists()
    response = client.post(reverse("staff:webhook_new"), {
        "url": "https://crm.example.com/hooks", "description": "CRM", "is_active": "on"})
    assert "This field is required." in response.content.decode()
    response = client.post(reverse("staff:webhook_new"), {
        "url": "https://crm.example.com/hooks", "description": "CRM", "is_active": "on",
        "event_types": ["tier.changed", "points.earned"]})
    endpoint = WebhookEndpoint.objects.get()
    assert response["Location"] == reverse("staff:webhook_endpoint", args=[endpoint.pk])
    assert endpoint.event_types == ["points.earned", "tier.changed"] and endpoint.is_active
    assert endpoint.secret.startswith("whsec_") and len(endpoint.secret) > 40
    page = client.get(response["Location"]).content.decode()
    assert endpoint.secret in page and "CRM" in page
    assert StaffAction.objects.filter(action="loyalty_site.webhook.created", actor=manager).exists()


def test_a_manager_changes_an_endpoint_and_rolls_its_secret(client, manager, endpoint):
    client.force_login(manager)
    url = reverse("staff:webhook_endpoint", args=[endpoint.pk])
    client.post(url, {"url": endpoint.url, "description": "Till app",
                      "event_types": ["reward.redeemed"]})
    endpoint.refresh_from_db()
    assert (endpoint.description, endpoint.event_types, endpoint.is_active) == (
        "Till app", ["reward.redeemed"], False)
    old = endpoint.secret
    client.post(reverse("staff:webhook_roll_secret", args=[endpoint.pk]))
    endpoint.refresh_from_db()
    assert endpoint.secret != old and endpoint.previous_secret == old
    assert "The previous secret also signs until" in client.get(url).content.decode()


def test_the_test_button_sends_a_ping_and_shows_how_it_went(client, manager, endpoint, receiver,
                                                            django_capture_on_commit_callbacks):
    client.force_login(manager)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("staff:webhook_test", args=[endpoint.pk]))
    delivery = WebhookDelivery.objects.get()
    assert response["Location"] == reverse("staff:webhook_delivery", args=[delivery.pk])
    assert delivery.event_type == "ping" and delivery.status == "delivered"
    assert receiver.requests[0]["headers"]["Patron-Event"] == "ping"
    page = client.get(response["Location"]).content.decode()
    assert "answer 200" in page and str(delivery.event_id) in page and "reachable" in page


def test_the_test_button_refuses_a_switched_off_endpoint(client, manager, endpoint):
    endpoint.is_active = False
    endpoint.save()
    client.force_login(manager)
    response = client.post(reverse("staff:webhook_test", args=[endpoint.pk]), follow=True)
    assert "Switch the endpoint on before sending it a test event." in response.content.decode()
    assert not WebhookDelivery.objects.exists()


def test_the_delivery_log_filters_by_status_and_event(client, manager, log):
    client.force_login(manager)
    url = reverse("staff:webhook_deliveries")
    page = client.get(url, {"status": "failed"})
    assert len(page.context["page"]) == 6
    page = client.get(url, {"type": "tier.changed"})
    assert {d.event_type for d in page.context["page"]} == {"tier.changed"}
    assert len(page.context["page"]) == 10
    page = client.get(url, {"type": "tier.changed", "status": "failed", "endpoint": log.pk})
    assert len(page.context["page"]) == 2
    assert client.get(url, {"status": "nonsense", "endpoint": "x"}).status_code == 200


def test_pages_take_a_bounded_number_of_queries(client, manager, log, django_assert_max_num_queries):
    client.force_login(manager)
    delivery = WebhookDelivery.objects.first()
    for url in pages(log, delivery):
        with django_assert_max_num_queries(12):
            assert client.get(url).status_code == 200, url
