"""The Django admin for superusers: surveys to look at; answers are read-only, since they are
written only through the answer page's rules (docs/surveys.md)."""

from django.contrib import admin

from programs.admin import ReadOnlyAdmin

from .models import Answer, FollowUp, Invitation, Survey, Testimonial


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "nps_scale", "is_active", "send_after_purchase"]
    list_filter = ["kind", "is_active"]


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    list_display = ["survey", "member", "created_at", "sent_at", "skipped", "confirmed_at"]
    list_filter = ["survey"]
    list_select_related = ["survey", "member__user"]


@admin.register(Answer)
class AnswerAdmin(ReadOnlyAdmin):
    list_display = ["invitation", "question", "value", "scale", "status", "source", "updated_at"]
    list_filter = ["status", "source", "scale"]
    list_select_related = ["invitation__survey", "invitation__member__user"]


@admin.register(FollowUp)
class FollowUpAdmin(ReadOnlyAdmin):
    list_display = ["invitation", "owner", "deadline", "status"]
    list_filter = ["status"]


@admin.register(Testimonial)
class TestimonialAdmin(ReadOnlyAdmin):
    list_display = ["text", "status", "consented_at"]
    list_filter = ["status"]
