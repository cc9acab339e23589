"""Composes the two front doors, accounts, the API and the admin."""

from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView

from programs.api import errors as api_errors
from programs.api import views as api
from programs.views import campaigns, exports, imports, offers, plans_portal, plans_staff, segments
from programs.views import portal as points_portal
from programs.views import staff as till
from programs.views import tiers as tier_pages
from referrals.views import portal as referrals_portal
from referrals.views import staff as referrals_staff
from surveys.views import portal as surveys_portal
from surveys.views import staff as surveys_staff

from .views import dashboard as manager_pages
from .views import embed, materials, portal, privacy, setup, site, staff, webhooks

portal_patterns = [
    path("", portal.home, name="home"),
    path("coming-soon/", portal.roadmap, name="roadmap"),
    path("language/", portal.set_language, name="set_language"),
    path("preferences/email/", portal.email_preferences, name="email_preferences"),
    path("email/unsubscribe/<str:token>/", portal.unsubscribe, name="unsubscribe"),
    path("points/", points_portal.points, name="points"),
    path("rewards/", points_portal.rewards, name="rewards"),
    path("rewards/<int:reward_id>/redeem/", points_portal.redeem, name="redeem"),
    path("codes/", points_portal.codes, name="codes"),
    path("codes/<int:redemption_id>/", points_portal.code, name="code"),
    path("badges/", points_portal.badges, name="badges"),
    path("card/", points_portal.card, name="card"),
    path("card/birthday/", points_portal.birthday, name="birthday"),
    path("card.png", points_portal.card_png, name="card_png"),
    path("card/print/", materials.my_card, name="card_print"),
    path("logo", site.shop_logo, name="shop_logo"),
    path("join/embed/", embed.join, name="join_embed"),
    path("referrals/", referrals_portal.my_referrals, name="referrals"),
    path("referrals/leaderboard/", referrals_portal.leaderboard_choice, name="referral_leaderboard"),
    # A friend's share link, short enough to read out: /r/7K3M-Q9XR
    path("r/<str:code>", referrals_portal.share_link, name="share_link"),
    path("plans/", plans_portal.plans, name="plans"),
    path("plans/trial/", plans_portal.start_trial, name="plan_trial"),
    path("plans/checkout/", plans_portal.checkout, name="plan_checkout"),
    path("plans/<int:subscription_id>/cancel/", plans_portal.cancel, name="plan_cancel"),
    path("plans/<int:subscription_id>/change/", plans_portal.change_plan, name="plan_change"),
    path("plans/stripe/webhook/", plans_portal.stripe_webhook, name="stripe_webhook"),
    path("privacy/", privacy.privacy_page, name="privacy"),
    path("privacy/my-data.json", privacy.download_json, name="privacy_json"),
    path("privacy/my-data.zip", privacy.download_csv, name="privacy_csv"),
    path("privacy/close/", privacy.close_account, name="close_account"),
    path("surveys/", surveys_portal.my_surveys, name="surveys"),
    path("surveys/<int:invitation_id>/", surveys_portal.member_answer, name="survey_member_answer"),
    path("s/<str:token>/", surveys_portal.answer, name="survey_answer"),
]

staff_patterns = [
    path("", staff.home, name="home"),
    path("login/", staff.StaffLoginView.as_view(), name="login"),
    path("coming-soon/", staff.roadmap, name="roadmap"),
    path("setup/", setup.start, name="setup"),
    path("setup/business/", setup.business, name="setup_business"),
    path("setup/stores/", setup.stores, name="setup_stores"),
    path("setup/program/", setup.program, name="setup_program"),
    path("setup/ready/", setup.done, name="setup_done"),
    path("materials/", materials.materials, name="materials"),
    path("materials/poster/", materials.poster, name="materials_poster"),
    path("materials/table-tent/", materials.table_tent, name="materials_table_tent"),
    path("team/", staff.team, name="team"),
    path("team/<int:user_id>/remove/", staff.remove_from_team, name="remove_from_team"),
    path("outbox/", staff.outbox, name="outbox"),
    path("outbox/<int:email_id>/retry/", staff.retry_email, name="retry_email"),
    path("webhooks/", webhooks.endpoint_list, name="webhooks"),
    path("webhooks/new/", webhooks.endpoint_new, name="webhook_new"),
    path("webhooks/<int:endpoint_id>/", webhooks.endpoint_detail, name="webhook_endpoint"),
    path("webhooks/<int:endpoint_id>/roll-secret/", webhooks.roll_secret, name="webhook_roll_secret"),
    path("webhooks/<int:endpoint_id>/test/", webhooks.send_test, name="webhook_test"),
    path("webhooks/deliveries/", webhooks.delivery_list, name="webhook_deliveries"),
    path("webhooks/deliveries/<uuid:delivery_id>/", webhooks.delivery_detail, name="webhook_delivery"),
    path("webhooks/deliveries/<uuid:delivery_id>/retry/", webhooks.retry_delivery,
         name="webhook_retry"),
    path("campaigns/", campaigns.campaign_list, name="campaigns"),
    path("campaigns/new/", campaigns.campaign_new, name="campaign_new"),
    path("campaigns/<int:campaign_id>/edit/", campaigns.campaign_edit, name="campaign_edit"),
    path("offers/", offers.offer_list, name="offers"),
    path("offers/new/", offers.offer_new, name="offer_new"),
    path("offers/<int:offer_id>/", offers.offer_detail, name="offer"),
    path("offers/<int:offer_id>/send/", offers.offer_send, name="offer_send"),
    path("segments/", segments.segment_list, name="segments"),
    path("segments/new/", segments.segment_new, name="segment_new"),
    path("segments/preview/", segments.segment_preview_size, name="segment_preview_size"),
    path("segments/<int:segment_id>/", segments.segment_detail, name="segment"),
    path("segments/<int:segment_id>/edit/", segments.segment_edit, name="segment_edit"),
    path("tiers/", tier_pages.tier_programs, name="tiers"),
    path("tiers/<slug:slug>/", tier_pages.tier_settings, name="tier_settings"),
    path("exports/", exports.export_page, name="exports"),
    path("exports/members.csv", exports.export_members, name="export_members"),
    path("exports/ledger.csv", exports.export_ledger, name="export_ledger"),
    path("imports/", imports.import_page, name="imports"),
    path("imports/confirm/", imports.confirm_import, name="import_confirm"),
    path("till/", till.till, name="till"),
    path("till/store/", till.choose_store, name="till_store"),
    path("till/code/", till.accept_code, name="till_accept_code"),
    path("till/member/<str:number>/", till.member_panel, name="till_member"),
    path("till/member/<str:number>/purchase/", till.record_purchase, name="till_purchase"),
    path("till/member/<str:number>/refund/", till.refund_purchase, name="till_refund"),
    path("till/member/<str:number>/redeem/", till.redeem_reward, name="till_redeem"),
    path("till/member/<str:number>/pay/", till.pay_with_points, name="till_pay"),
    path("till/member/<str:number>/adjust/", till.adjust_points, name="till_adjust"),
    path("till/member/<str:number>/tier/", till.set_tier, name="till_tier"),
    path("plans/", plans_staff.subscribers, name="plan_subscribers"),
    path("plans/pay/", plans_staff.record_payment, name="plan_record_payment"),
    path("plans/<int:subscription_id>/", plans_staff.subscription, name="plan_subscription"),
    path("plans/<int:subscription_id>/comp/", plans_staff.comp_period, name="plan_comp"),
    path("plans/setup/", plans_staff.plan_setup, name="plans_setup"),
    path("plans/setup/new/", plans_staff.plan_new, name="plans_new"),
    path("plans/setup/<int:plan_id>/", plans_staff.plan_edit, name="plans_edit"),
    path("metrics/", manager_pages.metrics_page, name="metrics"),
    path("metrics.csv", manager_pages.metrics_csv, name="metrics_csv"),
    path("metrics/<slug:key>.csv", manager_pages.metric_series_csv, name="metric_csv"),
    path("members/", manager_pages.members, name="members"),
    path("members/<str:number>/", manager_pages.member_page, name="member"),
    path("members/<str:number>/card/", materials.member_card, name="member_card"),
    path("surveys/", surveys_staff.survey_list, name="surveys"),
    path("surveys/new/", surveys_staff.survey_edit, name="survey_new"),
    path("surveys/<int:survey_id>/", surveys_staff.survey_results, name="survey_results"),
    path("surveys/<int:survey_id>/edit/", surveys_staff.survey_edit, name="survey_edit"),
    path("surveys/<int:survey_id>/send/", surveys_staff.survey_send, name="survey_send"),
    path("surveys/<int:survey_id>/answers.csv", surveys_staff.survey_export, name="survey_export"),
    path("surveys/follow-ups/", surveys_staff.follow_ups, name="survey_follow_ups"),
    path("surveys/follow-ups/<int:follow_up_id>/", surveys_staff.follow_up, name="survey_follow_up"),
    path("surveys/testimonials/", surveys_staff.testimonials, name="survey_testimonials"),
    path("surveys/testimonials/<int:testimonial_id>/review/", surveys_staff.review_testimonial,
         name="survey_review_testimonial"),
    path("surveys/receipt/<int:purchase_id>/", surveys_staff.receipt, name="survey_receipt"),
    path("referrals/", referrals_staff.overview, name="referrals"),
    path("referrals/review/", referrals_staff.review_queue, name="referral_review"),
    path("referrals/review/<int:referral_id>/", referrals_staff.decide, name="referral_decide"),
    path("referrals/settings/", referrals_staff.settings_list, name="referral_settings"),
    path("referrals/settings/<int:program_id>/", referrals_staff.settings_edit,
         name="referral_settings_edit"),
]

api_patterns = [
    path("", site.api_root, name="root"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("members", api.MemberCreateView.as_view(), name="members"),
    path("members/<str:member_number>", api.MemberDetailView.as_view(), name="member"),
    path("purchases", api.PurchaseView.as_view(), name="purchases"),
    # <path:…> so that a receipt number may hold a slash (sent as %2F).
    path("purchases/<path:external_id>/refunds", api.RefundView.as_view(), name="refunds"),
    path("rewards", api.RewardListView.as_view(), name="rewards"),
    path("redemptions", api.RedemptionView.as_view(), name="redemptions"),
    path("redemptions/<str:code>/use", api.RedemptionUseView.as_view(), name="use_redemption"),
    # Anything else under /api/v1/ answers JSON too, not the portal's 404 page.
    re_path(r"^.*$", api_errors.not_found),
]

urlpatterns = [
    path("", include((portal_patterns, "portal"))),
    path("staff/", include((staff_patterns, "staff"))),
    # allauth's sign-up with the referral code filled in from a share link; before allauth's own.
    path("accounts/signup/", referrals_portal.SignupView.as_view(), name="account_signup"),
    path("accounts/", include("allauth.urls")),
    path("api/v1/", include((api_patterns, "api"))),
    path("admin/", admin.site.urls),
    path("healthz", site.health, name="health"),
]

handler403 = "loyalty_site.views.site.permission_denied"
handler404 = "loyalty_site.views.site.page_not_found"
handler500 = "loyalty_site.views.site.server_error"
