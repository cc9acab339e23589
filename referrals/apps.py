from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReferralsConfig(AppConfig):
    name = "referrals"
    verbose_name = _("Referrals")

    def ready(self):
        # The core announces sign-ups, purchases and refunds; it never imports referrals.
        from programs import config, signals
        from programs.badges import register_badge

        from . import metrics, receivers, selectors

        config.register(receivers.REFERRAL_PROGRAMS, selectors.programs_with_referrals)
        signals.member_enrolled.connect(receivers.member_enrolled, dispatch_uid="referrals.enrolled")
        signals.referral_code_given.connect(receivers.referral_code_given,
                                            dispatch_uid="referrals.code_given")
        signals.purchase_recorded.connect(receivers.purchase_recorded, dispatch_uid="referrals.purchase")
        signals.purchase_refunded.connect(receivers.purchase_refunded, dispatch_uid="referrals.refund")
        signals.collect_member_data.connect(receivers.collect_member_data,
                                            dispatch_uid="referrals.collect_member_data")
        signals.member_closing.connect(receivers.member_closing, dispatch_uid="referrals.member_closing")
        metrics.register_referral_metrics()
        register_badge("referred-a-friend", _("Friend maker"),
                       _("A friend you invited joined and made their first purchase."),
                       selectors.has_brought_a_friend)
