"""`Idempotency-Key`: a POST sent again with the same key gets the first answer, not a second effect.

The first successful answer (2xx) is stored per store and key with a fingerprint of the request
(SHA-256 of method, path and body). A repeat with the same key and fingerprint replays it —
same status, same body, and the header `Idempotent-Replayed: true` — without running anything.
The same key with another request is refused with 422: it is a bug in the client, and guessing
which of the two it meant would be worse.

With a key, the view and the stored answer are one transaction. Without one, the view's
service is its own transaction (a purchase is then kept once by its store and receipt number).

Errors are not stored: a request that failed changed nothing, so sending it again (with the same
key) simply runs it again.

Two identical requests at the same moment: each runs its view inside one transaction and stores
its answer at the end. The unique constraint on (store, key) lets only one commit; the other's
insert fails (on PostgreSQL it first waits for the winner to commit), its transaction — with
whatever its view wrote — is rolled back, and it replays the winner's answer.
"""

import hashlib
import json
from functools import wraps

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, status
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from ..models import IdempotentRequest

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
MAX_KEY_LENGTH = IdempotentRequest._meta.get_field("key").max_length


class IdempotencyKeyReused(exceptions.APIException):
    status_code = status.HTTP_422_UNPROCESSABLE_ENTITY
    default_detail = _("This Idempotency-Key was already used for a different request (another "
                       "path or body). Send a new key with a new request.")
    default_code = "idempotency_key_reused"


class _LostTheRace(Exception):
    """Raised out of the transaction to roll back what the view wrote."""


def fingerprint(request):
    digest = hashlib.sha256()
    for part in (request.method.encode(), request.get_full_path().encode(), request.body):
        digest.update(part)
        digest.update(b"\0")
    return digest.hexdigest()


def _read_key(request):
    key = request.headers.get(HEADER)
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable() or not key.isascii():
        raise exceptions.ValidationError({HEADER: [_(
            "Send a key of 1 to %(max)s printable ASCII characters, such as a UUID."
        ) % {"max": MAX_KEY_LENGTH}]})
    return key


def _replay(stored, request_fingerprint):
    if stored.fingerprint != request_fingerprint:
        raise IdempotencyKeyReused
    return Response(stored.response, status=stored.status_code, headers={REPLAYED_HEADER: "true"})


def idempotent(handler):
    """Decorate an APIView's post(): honours the Idempotency-Key header for the request's store.

    Must run after authentication (it needs request.user.store), which it does as a handler.
    """

    @wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        key = _read_key(request)
        if key is None:
            # Each view calls one service, which is a transaction of its own.
            return handler(view, request, *args, **kwargs)
        store = request.user.store
        # Read the body before the view parses it: DRF then parses from this copy.
        request_fingerprint = fingerprint(request)
        stored = IdempotentRequest.objects.filter(store=store, key=key).first()
        if stored is not None:
            return _replay(stored, request_fingerprint)
        try:
            with transaction.atomic():
                response = handler(view, request, *args, **kwargs)
                if status.is_success(response.status_code):
                    try:
                        with transaction.atomic():
                            IdempotentRequest.objects.create(
                                store=store, key=key, fingerprint=request_fingerprint,
                                status_code=response.status_code,
                                # Stored as the client saw it: through the same JSON renderer.
                                response=json.loads(JSONRenderer().render(response.data)),
                            )
                    except IntegrityError:
                        raise _LostTheRace from None
        except _LostTheRace:
            return _replay(IdempotentRequest.objects.get(store=store, key=key), request_fingerprint)
        return response

    return wrapper


# For the schema: every POST documents the header, and the replay marker on its answers.
KEY_PARAMETER = OpenApiParameter(
    HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    # What _read_key accepts, so that a client generating keys from the schema sends good ones.
    pattern=rf"^[!-~]([ -~]{{0,{MAX_KEY_LENGTH - 2}}}[!-~])?$",
    description="Any unique string (a UUID is good) of 1 to 200 printable ASCII characters. A "
                "repeat with the same key and the same body gets the first answer again and "
                "changes nothing; the same key with another body is refused with 422.",
)
REPLAYED_PARAMETER = OpenApiParameter(
    REPLAYED_HEADER, OpenApiTypes.STR, OpenApiParameter.HEADER, response=[200, 201],
    description="`true` when this answer is a replay of the first answer to the same "
                "Idempotency-Key.",
)
