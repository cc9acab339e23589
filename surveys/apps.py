from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SurveysConfig(AppConfig):
    name = "surveys"
    verbose_name = _("Surveys")

    def ready(self):
        from programs import config, signals
        from programs.badges import register_badge
        from programs.segments import register_segment_filter

        from . import metrics, receivers, selectors, services

        config.register(receivers.AFTER_PURCHASE_SURVEYS, services.after_purchase_surveys)
        signals.purchase_recorded.connect(receivers.invite_after_purchase,
                                          dispatch_uid="surveys.invite_after_purchase")
        signals.collect_member_data.connect(receivers.collect_member_data,
                                            dispatch_uid="surveys.collect_member_data")
        signals.member_closing.connect(receivers.forget_member,
                                       dispatch_uid="surveys.forget_member")
        metrics.register_survey_metrics()
        register_segment_filter("survey_band", selectors.members_by_latest_nps_band)
        register_badge("answered-a-survey", _("Voice of the shop"), _("You answered one of our surveys."),
                       selectors.has_answered_a_survey)
