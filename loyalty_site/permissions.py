"""Who may open which staff page.

Anonymous visitors are sent to the staff sign-in page; signed-in people without the
permission get a 403 page that says so (a member who types /staff/ learns it is not for them).
"""

from functools import wraps

from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse

from .roles import STAFF_ROLES, perm


def is_staff_member(user):
    return user.is_authenticated and user.is_active and user.has_perm(perm("open_dashboard"))


def staff_role(user):
    """The person's staff role name for display, or "" for a non-staff user."""
    if user.is_superuser:
        return "manager"
    for group in user.groups.all():
        if group.name in STAFF_ROLES:
            return group.name
    return ""


def staff_required(permission="open_dashboard"):
    """Let a view through only for staff who hold `permission` (a StaffPermission codename)."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            if not request.user.is_authenticated:
                login = reverse("staff:login")
                return redirect(f"{login}?next={request.get_full_path()}")
            if not (is_staff_member(request.user) and request.user.has_perm(perm(permission))):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        wrapped.staff_permission = permission
        return wrapped

    return decorator
