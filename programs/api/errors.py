"""Every API error as JSON with a 4xx status, in one of two shapes:

- a message per field, `{"amount": ["The amount must be more than zero."]}` — bad input (400) or
  a request that conflicts with what is already recorded (409);
- `{"detail": "…"}` for the request as a whole (401, 404, 422, 429); a body that is not JSON is
  bad input and gets the first shape, under `non_field_errors`.

The services raise Django's ValidationError with a message per field and write nothing; this
handler turns it into the first shape. Set as REST_FRAMEWORK["EXCEPTION_HANDLER"].
"""

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler
from rest_framework.views import set_rollback

from ..services import PointsError, PurchaseConflict


def _messages_per_field(error):
    if hasattr(error, "error_dict"):
        return {("non_field_errors" if field == NON_FIELD_ERRORS else field): messages
                for field, messages in error.message_dict.items()}
    return {"non_field_errors": error.messages}


def api_exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        # A receipt number used for another purchase, a code already used, too few points: the
        # input is well-formed but clashes with what is recorded, so 409 rather than 400.
        conflict = isinstance(exc, PurchaseConflict | PointsError)
        set_rollback()
        return Response(_messages_per_field(exc),
                        status=status.HTTP_409_CONFLICT if conflict else status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, exceptions.ParseError):
        # A body that is not JSON is bad input too: the 400 shape, so that a client reads every
        # 400 the same way (the schema promises it).
        return Response({"non_field_errors": [str(exc.detail)]}, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)


def not_found(request, *args, **kwargs):
    """Any other path under /api/v1/: JSON, as the rest of the API, rather than the portal's page."""
    return JsonResponse({"detail": _("There is no such API endpoint. The schema lists them all: "
                                     "/api/v1/schema/.")}, status=404)
