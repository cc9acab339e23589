from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = _("Surveys")

    def ready(self):
        from programs import signals

        from . import receivers

        signals.purchase_recorded.connect(receivers.invite_after_purchase,
                                          dispatch_uid="surveys.invite_after_purchase")
