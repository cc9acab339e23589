"""Pages that belong to neither front door: errors, health, the API root."""

from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse
from drf_spectacular.utils import extend_schema
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

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
