"""The shapes of the API's requests and answers. They check form only (types, lengths, required
fields); what a value means — an amount the currency can hold, a receipt number already used —
is for the services to decide."""

from decimal import Decimal

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.settings import api_settings

from ..models import Reward

# --- Fields ---------------------------------------------------------------------------------


@extend_schema_field({"type": "string", "format": "decimal", "pattern": r"^\d+(\.\d+)?$",
                      "example": "12.50"})
class MoneyField(serializers.CharField):
    """An amount as a decimal string ("12.50"). A JSON number is refused: the JSON parser would
    already have made it a float, and no float may ever hold money."""

    default_error_messages = {
        "not_a_string": _('Send the amount as a string, such as "12.50". A JSON number is read '
                          "as a float, and floats must never hold money."),
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 32)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


class QuantityField(serializers.DecimalField):
    """A quantity: a whole JSON number (2) or a decimal string ("0.250"); never a float."""

    default_error_messages = {
        "float": _('Send a fractional quantity as a string, such as "0.250".'),
    }

    def __init__(self, **kwargs):
        super().__init__(max_digits=10, decimal_places=3, min_value=Decimal("0.001"), **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool | float):
            self.fail("float" if isinstance(data, float) else "invalid")
        return super().to_internal_value(data)


class MomentField(serializers.DateTimeField):
    """An ISO 8601 moment with its offset (2025-03-01T14:30:00+01:00); a time without one is
    ambiguous (whose 14:30?) and refused."""

    default_error_messages = {
        "naive": _("Give the time with its offset, such as 2025-03-01T14:30:00+01:00."),
    }

    def to_internal_value(self, value):
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value.strip())
            except ValueError:
                parsed = None
            if parsed is not None and timezone.is_naive(parsed):
                self.fail("naive")
        return super().to_internal_value(value)


MEMBER_HELP = _("The member's card number (ten digits, spaces allowed) or email address.")

# --- Members --------------------------------------------------------------------------------


class MemberCreateSerializer(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    name = serializers.CharField(max_length=150, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")
    language = serializers.ChoiceField(choices=settings.LANGUAGES, required=False)
    referral_code = serializers.CharField(
        max_length=40, required=False, allow_blank=True,
        help_text=_("The code of the member who referred this new customer. A code that is not "
                    "accepted is recorded for staff and never fails the request."),
    )


class MemberSerializer(serializers.Serializer):
    member_number = serializers.CharField(source="number")
    email = serializers.EmailField(source="user.email")
    name = serializers.CharField(source="user.name")


class ExpiringSerializer(serializers.Serializer):
    points = serializers.IntegerField()
    date = serializers.DateField(help_text=_("The day they expire, in the shop's time zone."))


class ProgramStandingSerializer(serializers.Serializer):
    program = serializers.SlugField(source="program.slug")
    balance = serializers.IntegerField(help_text=_("All points, pending included; may be below zero "
                                                   "after a refund of points already spent."))
    available = serializers.IntegerField(help_text=_("Points the member can spend now."))
    pending = serializers.IntegerField(help_text=_("Points still in the return window."))
    expiring_next = ExpiringSerializer(allow_null=True, help_text=_(
        "The points that expire soonest, and when; null when none expire."))
    tier = serializers.CharField(allow_null=True, help_text=_(
        "The member's tier in the program (its name), or null for none."))


class MemberDetailSerializer(serializers.Serializer):
    member_number = serializers.CharField()
    name = serializers.CharField()
    programs = ProgramStandingSerializer(many=True)


# --- Purchases and refunds ------------------------------------------------------------------


class PurchaseItemSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    category = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    quantity = QuantityField(required=False, default=Decimal(1))
    unit_price = MoneyField()


class PurchaseSerializer(serializers.Serializer):
    member = serializers.CharField(max_length=254, help_text=MEMBER_HELP)
    external_id = serializers.CharField(max_length=100, help_text=_(
        "The receipt number: unique per store. The same purchase sent again earns nothing."))
    amount = MoneyField(help_text=_("What the member paid, as a decimal string."))
    currency = serializers.CharField(max_length=3, help_text=_("ISO 4217; must be the shop's."))
    occurred_at = MomentField(required=False, help_text=_("When the purchase happened; default now."))
    items = PurchaseItemSerializer(many=True, required=False)

    def to_internal_value(self, data):
        try:
            return super().to_internal_value(data)
        except serializers.ValidationError as error:
            raise serializers.ValidationError(_flatten_lines(error.detail)) from None


def _flatten_lines(detail):
    """DRF reports a bad line as {"items": {"0": {"quantity": [...]}}}; say it as the service
    does, one list of messages per field: {"items": ["Line 1, quantity: ..."]}."""
    lines = detail.get("items") if isinstance(detail, dict) else None
    if not isinstance(lines, dict):
        return detail
    messages = []
    for index, fields in lines.items():
        if not str(index).isdigit():  # about the list as a whole ("expected a list")
            messages.extend(fields if isinstance(fields, list) else [fields])
    for index, fields in sorted((int(i), f) for i, f in lines.items() if str(i).isdigit()):
        for field, field_messages in fields.items():
            template = (_("Line %(n)s: %(message)s") if field == api_settings.NON_FIELD_ERRORS_KEY
                        else _("Line %(n)s, %(field)s: %(message)s"))
            messages.extend(template % {"n": int(index) + 1, "field": field, "message": message}
                            for message in field_messages)
    detail["items"] = messages
    return detail


class PointsByProgramField(serializers.DictField):
    def __init__(self, **kwargs):
        super().__init__(child=serializers.IntegerField(), **kwargs)


class PurchaseResultSerializer(serializers.Serializer):
    purchase = serializers.CharField(help_text=_("The receipt number."))
    points_earned = PointsByProgramField(help_text=_("Points the purchase earned, per program."))
    balance = PointsByProgramField(help_text=_("The member's balance now, per program."))
    created = serializers.BooleanField(help_text=_(
        "False when the purchase had been recorded before: nothing was earned this time."))


class RefundSerializer(serializers.Serializer):
    external_id = serializers.CharField(max_length=100, help_text=_(
        "The refund number: unique per purchase. The same refund sent again takes nothing back."))
    amount = MoneyField(help_text=_("The money given back, as a decimal string."))


class RefundResultSerializer(serializers.Serializer):
    purchase = serializers.CharField()
    refund = serializers.CharField()
    points_reversed = PointsByProgramField(help_text=_("Points this refund took back, per program."))
    balance = PointsByProgramField()
    created = serializers.BooleanField()


# --- Rewards and redemptions ----------------------------------------------------------------


class RewardSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    program = serializers.SlugField(source="program.slug")
    name = serializers.CharField()
    description = serializers.CharField()
    kind = serializers.ChoiceField(choices=Reward.Kind.choices)
    value = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True, help_text=_(
        "The amount of a fixed discount, or the percentage of a percentage discount."))
    cost = serializers.IntegerField(help_text=_("Points."))
    in_stock = serializers.SerializerMethodField()
    valid_until = serializers.DateTimeField(allow_null=True)

    def get_in_stock(self, reward) -> bool:
        return reward.stock is None or reward.stock > 0


class RedeemSerializer(serializers.Serializer):
    member = serializers.CharField(max_length=254, help_text=MEMBER_HELP)
    reward = serializers.IntegerField(min_value=1, help_text=_("The reward's id."))


class RedemptionSerializer(serializers.Serializer):
    code = serializers.CharField(source="display_code", help_text=_(
        "The single-use code, in groups of four, for the till."))
    program = serializers.SlugField(source="reward.program.slug")
    reward = serializers.IntegerField(source="reward_id")
    expires_at = serializers.DateTimeField()
    points = serializers.IntegerField(help_text=_("Points spent."))
    balance = serializers.IntegerField(source="membership.balance", help_text=_(
        "The member's balance in the program afterwards."))


class RewardBriefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=Reward.Kind.choices)
    value = serializers.DecimalField(max_digits=14, decimal_places=2, allow_null=True)


class UsedRedemptionSerializer(serializers.Serializer):
    code = serializers.CharField(source="display_code")
    reward = RewardBriefSerializer()
    member_number = serializers.CharField(source="membership.member.number")
    used_at = serializers.DateTimeField()


# --- Errors, for the schema -----------------------------------------------------------------


class DetailErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()


FIELD_ERRORS_SCHEMA = {
    "type": "object",
    "description": "A list of messages per field, e.g. {\"amount\": [\"The amount must be more "
                   "than zero.\"]}; `non_field_errors` for the request as a whole.",
    "additionalProperties": {"type": "array", "items": {"type": "string"}},
}
