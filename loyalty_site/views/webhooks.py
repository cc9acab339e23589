"""Webhooks in the staff dashboard: endpoints, their secrets and test events, the delivery log."""

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .. import selectors, webhooks
from ..forms import WebhookEndpointForm
from ..models import WebhookDelivery, WebhookEndpoint
from ..permissions import staff_required

RECENT_DELIVERIES = 10


@staff_required("manage_webhooks")
def endpoint_list(request):
    return render(request, "staff/webhooks/endpoints.html", {
        "endpoints": selectors.webhook_endpoints(),
        "event_types": webhooks.EventType.choices,
    })


def _endpoint_form(request, endpoint):
    """(form, the endpoint once saved, else None). A ValidationError from the service lands on
    its field."""
    initial = {"url": endpoint.url, "description": endpoint.description,
               "event_types": endpoint.event_types, "is_active": endpoint.is_active}
    form = WebhookEndpointForm(request.POST or None, initial=initial if endpoint.pk else None)
    if request.method != "POST" or not form.is_valid():
        return form, None
    try:
        if endpoint.pk:
            return form, webhooks.change_endpoint(actor=request.user, endpoint=endpoint,
                                                  **form.cleaned_data)
        return form, webhooks.create_endpoint(actor=request.user, **form.cleaned_data)
    except ValidationError as error:
        for field, field_errors in error.message_dict.items():
            for message in field_errors:
                form.add_error(field if field in form.fields else None, message)
        return form, None


def _saved(request, endpoint):
    messages.success(request, _("Endpoint saved."))
    return redirect("staff:webhook_endpoint", endpoint.pk)


@staff_required("manage_webhooks")
def endpoint_new(request):
    form, saved = _endpoint_form(request, WebhookEndpoint())
    if saved is not None:
        return _saved(request, saved)
    return render(request, "staff/webhooks/endpoint_new.html", {"form": form})


@staff_required("manage_webhooks")
def endpoint_detail(request, endpoint_id):
    endpoint = get_object_or_404(WebhookEndpoint, pk=endpoint_id)
    form, saved = _endpoint_form(request, endpoint)
    if saved is not None:
        return _saved(request, saved)
    until = endpoint.previous_secret_until
    return render(request, "staff/webhooks/endpoint.html", {
        "endpoint": endpoint, "form": form,
        "previous_secret_until": until if until and until > timezone.now() else None,
        "deliveries": selectors.webhook_deliveries(endpoint=endpoint)[:RECENT_DELIVERIES],
    })


@require_POST
@staff_required("manage_webhooks")
def roll_secret(request, endpoint_id):
    endpoint = get_object_or_404(WebhookEndpoint, pk=endpoint_id)
    webhooks.roll_secret(actor=request.user, endpoint=endpoint)
    messages.success(request, _("The endpoint has a new secret. The old one keeps signing for "
                                "24 hours, so you have time to change it in your system."))
    return redirect("staff:webhook_endpoint", endpoint.pk)


@require_POST
@staff_required("manage_webhooks")
def send_test(request, endpoint_id):
    endpoint = get_object_or_404(WebhookEndpoint, pk=endpoint_id)
    try:
        delivery = webhooks.send_test_event(actor=request.user, endpoint=endpoint)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("staff:webhook_endpoint", endpoint.pk)
    messages.success(request, _("A test event is on its way; its delivery shows how the "
                                "endpoint answered."))
    return redirect("staff:webhook_delivery", delivery.pk)


@staff_required("manage_webhooks")
def delivery_list(request):
    status, event_type = request.GET.get("status", ""), request.GET.get("type", "")
    endpoint = None
    if request.GET.get("endpoint", "").isdigit():
        endpoint = WebhookEndpoint.objects.filter(pk=request.GET["endpoint"]).first()
    deliveries = selectors.webhook_deliveries(status=status, event_type=event_type, endpoint=endpoint)
    return render(request, "staff/webhooks/deliveries.html", {
        "page": Paginator(deliveries, 50).get_page(request.GET.get("page")),
        "status": status, "event_type": event_type, "endpoint": endpoint,
        "statuses": WebhookDelivery.Status.choices,
        "event_types": [*webhooks.EventType.choices, (webhooks.PING, _("Test event"))],
        "counts": selectors.webhook_delivery_counts(),
    })


@staff_required("manage_webhooks")
def delivery_detail(request, delivery_id):
    delivery = get_object_or_404(WebhookDelivery.objects.select_related("endpoint"), pk=delivery_id)
    return render(request, "staff/webhooks/delivery.html", {
        "delivery": delivery,
        "attempts": delivery.attempt_log.all(),
        "payload": json.dumps(delivery.payload, indent=2, ensure_ascii=False),
    })


@require_POST
@staff_required("manage_webhooks")
def retry_delivery(request, delivery_id):
    delivery = get_object_or_404(WebhookDelivery, pk=delivery_id)
    if webhooks.retry_delivery(actor=request.user, delivery=delivery):
        messages.success(request, _("The delivery is queued again."))
    else:
        messages.info(request, _("Only failed deliveries can be sent again."))
    return redirect("staff:webhook_delivery", delivery.pk)
