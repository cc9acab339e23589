from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class LoyaltySiteConfig(AppConfig):
    name = "loyalty_site"
    verbose_name = _("Patron")

    def ready(self):
        from . import roles, webhook_events

        # Roles are synced after every migrate, when all permissions exist, so a new permission
        # in code reaches the "manager" and "cashier" groups without a hand-written migration.
        post_migrate.connect(roles.sync_staff_roles_after_migrate, sender=self)
        webhook_events.connect()
