"""Pages that belong to neither front door: errors, health, the API root."""

import sys

from django.conf import settings
from django.db import InterfaceError, OperationalError, connection
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import defaults
from django.views.decorators.cache import cache_control
from drf_spectacular.utils import extend_schema
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeout
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from programs.business import business_logo

from ..permissions import is_staff_member


def permission_denied(request, exception=None):
    """One 403 page per front door, so a member who wanders into /staff/ is not lost."""
    if not request.path.startswith("/staff/"):
        template = "portal/403.html"
    elif is_staff_member(request.user):
        template = "staff/403.html"
    else:
        template = "staff/not_staff.html"
    return render(request, template, status=403)


def page_not_found(request, exception=None):
    front_door = "staff" if request.path.startswith("/staff/") else "portal"
    return render(request, f"{front_door}/404.html", status=404)


@cache_control(public=True, max_age=86400)
def shop_logo(request):
    """The logo chosen in the setup; its address carries a version, so it may be cached."""
    logo = business_logo()
    if logo is None:
        raise Http404
    data, content_type = logo
    response = HttpResponse(data, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    # An SVG opened on its own must not run scripts it may carry.
    response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'; sandbox"
    return response


def health(request):
    """For load balancers and monitoring: 200 when the database answers."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


@extend_schema(exclude=True)
@api_view(["GET"])
@permission_classes([AllowAny])
def api_root(request):
    return Response({
        "name": "Patron integration API",
        "version": "1",
        "schema": request.build_absolute_uri(reverse("api:schema")),
    })


# A database or cache that is restarting or unreachable: the request changed nothing (its
# transaction was rolled back or never began), and the same request a few seconds later works.
# PostgreSQL reports a deadlock or a cancelled statement the same way; trying again is right
# for those too.
UNAVAILABLE = (OperationalError, InterfaceError, RedisConnectionError, RedisTimeout)
RETRY_AFTER_SECONDS = 5


def server_error(request):
    """handler500: an outage of PostgreSQL or Redis is a 503 that says to try again, not a 500.

    Django calls this inside its `except` block, so the exception is at hand; it has already been
    logged (django.request) either way. The page is rendered without the request: its context
    processors would query the database that is down.
    """
    error = sys.exc_info()[1]
    if not isinstance(error, UNAVAILABLE):
        return defaults.server_error(request)
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": _(
            "The loyalty system is briefly unavailable: a server it needs is restarting. Send the "
            "request again in a few seconds, with the same Idempotency-Key.")}, status=503)
    else:
        message = _("The loyalty system is briefly unavailable: a server it needs is restarting. "
                    "Please try again in a few seconds.")
        response = HttpResponse(render_to_string(
            "503.html", {"message": message, "SHOP_NAME": settings.SHOP_NAME}), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
