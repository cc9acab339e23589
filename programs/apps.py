from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProgramsConfig(AppConfig):
    name = "programs"
    verbose_name = _("Programs")

    def ready(self):
        # Connects the welcome points to programs.signals.member_enrolled.
        from . import birthdays  # noqa: F401
