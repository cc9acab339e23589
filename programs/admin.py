"""The Django admin for superusers. Ledger records are read-only here: points move only through
the services, so that every change is an entry with its cause."""

from django import forms
from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from .models import (
    ApiKey,
    EarningRule,
    LedgerEntry,
    Member,
    Membership,
    Plan,
    PointLot,
    Program,
    Purchase,
    Redemption,
    Reward,
    Store,
    StripeEvent,
    Subscription,
    SubscriptionPayment,
)


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "channel", "is_active"]
    list_filter = ["channel", "is_active"]


@admin.register(Program)
class ProgramAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "kind", "pending_days", "expiry", "expiry_months", "is_active"]


class RewardAdminForm(forms.ModelForm):
    class Meta:
        model = Reward
        fields = ["program", "name", "description", "kind", "value", "cost", "stock", "valid_from",
                  "valid_until", "code_valid_days", "minimum_tier", "plans", "is_active"]

    def clean(self):
        data = super().clean()
        program, plans = data.get("program"), data.get("plans") or []
        if program is not None and any(plan.program_id != program.pk for plan in plans):
            self.add_error("plans", _("Choose plans of the reward's program."))
        return data


@admin.register(Reward)
class RewardAdmin(admin.ModelAdmin):
    """Rewards are edited here. A plan-only reward (docs/plans.md) lists its plans; leave them
    empty for a reward every member may redeem."""

    form = RewardAdminForm
    list_display = ["name", "program", "kind", "cost", "stock", "valid_until", "is_active"]
    list_filter = ["program", "kind", "is_active", "plans"]
    filter_horizontal = ["plans"]


@admin.register(EarningRule)
class EarningRuleAdmin(ReadOnlyAdmin):
    list_display = ["program", "version", "points_per_unit", "points_per_visit", "effective_from"]


@admin.register(Member)
class MemberAdmin(ReadOnlyAdmin):
    list_display = ["number", "user", "joined_at", "joined_store"]
    search_fields = ["number", "user__email", "user__name", "user__phone"]
    list_select_related = ["user", "joined_store"]


@admin.register(Membership)
class MembershipAdmin(ReadOnlyAdmin):
    list_display = ["member", "program", "balance", "pending", "points_owed", "last_activity_at"]
    list_select_related = ["member__user", "program"]
    search_fields = ["member__number", "member__user__email"]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "membership", "kind", "points", "balance_after", "reason"]
    list_filter = ["kind"]
    list_select_related = ["membership__member__user", "membership__program"]
    search_fields = ["membership__member__number"]


@admin.register(PointLot)
class PointLotAdmin(ReadOnlyAdmin):
    list_display = ["membership", "points", "remaining", "is_pending", "available_at", "expires_at"]
    list_select_related = ["membership__member__user", "membership__program"]


@admin.register(Purchase)
class PurchaseAdmin(ReadOnlyAdmin):
    list_display = ["external_id", "store", "member", "amount", "currency", "occurred_at"]
    list_select_related = ["store", "member__user"]
    search_fields = ["external_id", "member__number"]


@admin.register(Redemption)
class RedemptionAdmin(ReadOnlyAdmin):
    list_display = ["code", "reward", "membership", "status", "created_at", "used_at"]
    list_select_related = ["reward", "membership__member__user", "membership__program"]
    list_filter = ["status"]


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    list_display = ["store", "name", "prefix", "created_at", "last_used_at", "revoked_at"]


# --- Paid memberships (docs/plans.md). Plans are set up here; subscriptions, receipts and Stripe
# events only move through programs.subscriptions, so they are read-only.


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = ["name", "program", "price", "period", "trial_days", "multiplier", "bonus_points",
                    "is_active"]
    list_filter = ["program", "is_active"]


@admin.register(Subscription)
class SubscriptionAdmin(ReadOnlyAdmin):
    list_display = ["membership", "plan", "status", "period_end", "started_at", "ended_at"]
    list_select_related = ["plan", "membership__member__user", "membership__program"]
    list_filter = ["status", "plan"]


@admin.register(SubscriptionPayment)
class SubscriptionPaymentAdmin(ReadOnlyAdmin):
    list_display = ["subscription", "plan", "method", "amount", "currency", "period_start",
                    "period_end", "created_at"]
    list_select_related = ["plan", "subscription__plan"]
    list_filter = ["method"]


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ["event_id", "type", "created", "outcome", "received_at"]
    search_fields = ["event_id", "outcome"]
