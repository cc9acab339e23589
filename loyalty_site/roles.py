"""Staff roles: Django groups whose permissions are kept equal to this table.

docs/roles.md explains each permission in the shop's words; a test keeps the two in step.
"""

from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group, Permission
from django.db import transaction

MANAGER = "manager"
CASHIER = "cashier"

ROLE_PERMISSIONS = {
    MANAGER: [
        "open_dashboard",
        "use_till",
        "adjust_points",
        "adjust_points_unlimited",
        "manage_programs",
        "view_metrics",
        "export_data",
        "import_data",
        "manage_staff",
        "view_outbox",
        "manage_webhooks",
    ],
    CASHIER: [
        "open_dashboard",
        "use_till",
        "adjust_points",
    ],
}
STAFF_ROLES = tuple(ROLE_PERMISSIONS)


def perm(codename):
    """The full permission name for a staff permission codename."""
    return f"loyalty_site.{codename}"


@transaction.atomic
def sync_staff_roles():
    """Create the role groups and set their permissions to exactly ROLE_PERMISSIONS."""
    permissions = {
        p.codename: p
        for p in Permission.objects.filter(
            content_type__app_label="loyalty_site", content_type__model="staffpermission"
        )
    }
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role)
        group.permissions.set([permissions[c] for c in codenames])


def sync_staff_roles_after_migrate(sender, app_config=None, using="default", **kwargs):
    # Our receiver may run before auth's, which creates the permissions this needs.
    create_permissions(app_config, verbosity=0, using=using)
    sync_staff_roles()
