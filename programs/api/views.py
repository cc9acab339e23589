"""The integration API (DESIGN.md, "The integration API"): thin views over the services.

Each view reads its input with a serializer, finds what the request names through a selector
(scoped to the calling store where a store owns the thing), calls one service and answers.
Every POST runs in one transaction and honours Idempotency-Key (programs.api.idempotency).
"""

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from .. import selectors
from ..ratelimit import CODE_LOOKUPS, MEMBER_LOOKUPS
from ..services import (
    PointsError,
    find_or_enrol_customer,
    is_valid_member_number,
    record_purchase,
    redeem_reward,
    refund_purchase,
    use_redemption,
)
from . import serializers as s
from .authentication import ApiKeyAuthentication
from .idempotency import KEY_PARAMETER, REPLAYED_PARAMETER, idempotent

# --- For the schema -------------------------------------------------------------------------

BAD_INPUT = OpenApiResponse(s.FIELD_ERRORS_SCHEMA, description="Bad input; nothing was written.")
CONFLICT = OpenApiResponse(s.FIELD_ERRORS_SCHEMA, description=(
    "The request clashes with what is recorded; nothing was written."))
NO_KEY = OpenApiResponse(s.DetailErrorSerializer, description="Missing, unknown or revoked API key.")
NOT_FOUND = OpenApiResponse(s.DetailErrorSerializer, description="Not found.")
KEY_REUSED = OpenApiResponse(s.DetailErrorSerializer, description=(
    "The Idempotency-Key was used before for a different request."))


def _post_schema(ok, *, summary, description, request, conflict=False, not_found=False, **extra):
    responses = {**ok, 400: BAD_INPUT, 401: NO_KEY, 422: KEY_REUSED}
    if conflict:
        responses[409] = CONFLICT
    if not_found:
        responses[404] = NOT_FOUND
    responses.update(extra.pop("responses", {}))
    return extend_schema(summary=summary, description=description, request=request,
                         responses=responses, parameters=[KEY_PARAMETER, REPLAYED_PARAMETER], **extra)


def _member_or_400(reference, field="member"):
    member = selectors.member_by_reference(reference)
    if member is not None:
        return member
    digits = "".join(str(reference).split())
    if len(digits) == 10 and digits.isdigit() and not is_valid_member_number(digits):
        # The check digit is there to catch exactly this at the till.
        raise exceptions.ValidationError({field: [_(
            "This is not a valid member number: a digit is probably mistyped.")]})
    raise exceptions.ValidationError({field: [_("There is no member with this number or email.")]})


def _refuse_when_exceeded(limit, store_key, message):
    """429 with Retry-After once the store has used up `limit`, before any work is done."""
    if limit.is_exceeded(store_key):
        raise exceptions.Throttled(wait=limit.retry_after(), detail=message)


class StoreView(APIView):
    """A view for a store's system, authenticated by the store's API key."""

    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [IsAuthenticated]

    @property
    def store(self):
        return self.request.user.store

    def read(self, serializer_class):
        serializer = serializer_class(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


# --- Members --------------------------------------------------------------------------------


class MemberCreateView(StoreView):
    @_post_schema(
        {201: OpenApiResponse(s.MemberSerializer, description="A new member."),
         200: OpenApiResponse(s.MemberSerializer, description="The member with this email.")},
        summary="Enrol a customer, or find them by email",
        description="A person new to the shop gets an account with no password (they can set one "
                    "by signing up with the same email) and a member card. Someone already "
                    "known keeps their name, phone and language as they are.",
        request=s.MemberCreateSerializer,
    )
    @idempotent
    def post(self, request):
        data = self.read(s.MemberCreateSerializer)
        member, created = find_or_enrol_customer(
            email=data["email"], store=self.store, name=data["name"], phone=data["phone"],
            language=data.get("language"), source="api",
            referral_code=data.get("referral_code", ""),
        )
        return Response(s.MemberSerializer(member).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class MemberDetailView(StoreView):
    @extend_schema(
        summary="A member's points in each program",
        description="Every active program is listed, with zeros where the member has no points, "
                    "and the member's tier in it.",
        responses={200: s.MemberDetailSerializer, 401: NO_KEY, 404: NOT_FOUND,
                   429: OpenApiResponse(s.DetailErrorSerializer, description=(
                       f"More than {MEMBER_LOOKUPS.limit} unknown member numbers from this store "
                       "in the last minute."))},
    )
    def get(self, request, member_number):
        _refuse_when_exceeded(MEMBER_LOOKUPS, self.store.pk, _(
            "Too many member numbers from this store found no member in the last minute. "
            "Wait a moment, then try again."))
        member = selectors.member_by_number(member_number)
        if member is None:
            MEMBER_LOOKUPS.hit(self.store.pk)
            raise exceptions.NotFound(_("There is no member with this number."))
        detail = {
            "member_number": member.number,
            "name": member.user.name,
            "programs": [{**standing, "tier": standing["tier"].name if standing["tier"] else None}
                         for standing in selectors.member_programs(member)],
        }
        return Response(s.MemberDetailSerializer(detail).data)


# --- Purchases and refunds ------------------------------------------------------------------


class PurchaseView(StoreView):
    @_post_schema(
        {201: OpenApiResponse(s.PurchaseResultSerializer, description="Recorded; points earned."),
         200: OpenApiResponse(s.PurchaseResultSerializer, description=(
             "Recorded before: the first result, and nothing earned this time."))},
        summary="Record a purchase and earn its points",
        description="Once per store and receipt number (`external_id`): the same purchase sent "
                    "again answers 200 with what it earned the first time, and earns nothing. "
                    "The same receipt number with another amount or member is refused with 409.",
        request=s.PurchaseSerializer, conflict=True,
        examples=[OpenApiExample("A purchase", request_only=True, value={
            "member": "1234567897", "external_id": "R-2025-0001", "amount": "249.90",
            "currency": "EUR", "occurred_at": "2025-03-01T14:30:00+01:00",
            "items": [{"sku": "COF-250", "category": "coffee", "quantity": 2,
                       "unit_price": "124.95"}]})],
    )
    @idempotent
    def post(self, request):
        data = self.read(s.PurchaseSerializer)
        member = _member_or_400(data["member"])
        purchase, created = record_purchase(
            store=self.store, member=member, external_id=data["external_id"],
            amount=data["amount"], currency=data["currency"], occurred_at=data.get("occurred_at"),
            items=[dict(item) for item in data.get("items", [])],
        )
        result = {
            "purchase": purchase.external_id,
            "points_earned": (purchase.points_earned if created
                              else selectors.points_earned_by_purchase(purchase)),
            "balance": selectors.balances_by_program(member),
            "created": created,
        }
        return Response(s.PurchaseResultSerializer(result).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class RefundView(StoreView):
    @_post_schema(
        {201: OpenApiResponse(s.RefundResultSerializer, description="Refunded; points taken back."),
         200: OpenApiResponse(s.RefundResultSerializer, description=(
             "This refund was recorded before; nothing more was taken back."))},
        summary="Refund (part of) a purchase",
        description="Takes back the purchase's points in proportion to the money refunded. Points "
                    "already spent may take the balance below zero. The purchase is looked up "
                    "among this store's purchases only.",
        request=s.RefundSerializer, conflict=True, not_found=True,
    )
    @idempotent
    def post(self, request, external_id):
        data = self.read(s.RefundSerializer)
        purchase = selectors.store_purchase(self.store, external_id)
        if purchase is None:
            raise exceptions.NotFound(_("This store has no purchase with this receipt number."))
        refund, created = refund_purchase(purchase=purchase, external_id=data["external_id"],
                                          amount=data["amount"])
        result = {
            "purchase": purchase.external_id,
            "refund": refund.external_id,
            "points_reversed": selectors.points_reversed_by_refund(refund),
            "balance": selectors.balances_by_program(purchase.member),
            "created": created,
        }
        return Response(s.RefundResultSerializer(result).data,
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


# --- Rewards and redemptions ----------------------------------------------------------------


class RewardListView(StoreView):
    @extend_schema(
        summary="The rewards members can redeem now",
        responses={200: s.RewardSerializer(many=True), 401: NO_KEY},
    )
    def get(self, request):
        return Response(s.RewardSerializer(selectors.available_rewards(), many=True).data)


class RedemptionView(StoreView):
    @_post_schema(
        {201: OpenApiResponse(s.RedemptionSerializer, description="The code to give the member.")},
        summary="Spend a member's points on a reward",
        description="Issues a single-use code. Too few points, or a reward that is out of stock "
                    "or not available now, is refused with 409.",
        request=s.RedeemSerializer, conflict=True,
    )
    @idempotent
    def post(self, request):
        data = self.read(s.RedeemSerializer)
        member = _member_or_400(data["member"])
        reward = selectors.reward_by_id(data["reward"])
        if reward is None:
            raise exceptions.ValidationError({"reward": [_("There is no reward with this id.")]})
        redemption = redeem_reward(member=member, reward=reward)
        return Response(s.RedemptionSerializer(redemption).data, status=status.HTTP_201_CREATED)


class RedemptionUseView(StoreView):
    @_post_schema(
        {200: OpenApiResponse(s.UsedRedemptionSerializer, description="Accepted: give the reward.")},
        summary="Accept a reward code at the till, once",
        description="A code is accepted once; a used, cancelled or expired code is refused with "
                    "409 saying which, an unknown code with 404. More than "
                    f"{CODE_LOOKUPS.limit} failed codes per store per minute are refused with 429.",
        request=None, conflict=True, not_found=True,
        responses={429: OpenApiResponse(s.DetailErrorSerializer, description="Too many failed codes.")},
    )
    @idempotent
    def post(self, request, code):
        store_key = self.store.pk
        _refuse_when_exceeded(CODE_LOOKUPS, store_key, _(
            "Too many wrong or unusable codes from this store in the last minute. "
            "Wait a moment, then try again."))
        if selectors.redemption_by_code(code) is None:
            CODE_LOOKUPS.hit(store_key)
            raise exceptions.NotFound(_("There is no reward with this code."))
        try:
            redemption = use_redemption(code=code, store=self.store)
        except PointsError:
            CODE_LOOKUPS.hit(store_key)
            raise
        return Response(s.UsedRedemptionSerializer(redemption).data)
