"""API keys: how a store's till or web shop proves who it is to the integration API.

A key reads `ptr_<prefix>_<secret>`. The prefix is there so that staff can tell keys apart in
a list; the secret carries 256 random bits. Only the SHA-256 of the whole key is stored: a
stolen database does not give the keys away, and because the key is random and long, a plain
(unsalted, fast) hash is enough — there is nothing to guess a dictionary of.
"""

import hashlib
import secrets
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from .models import ApiKey

KEY_PREFIX = "ptr"
# How stale `last_used_at` may be: writing it on every request would put a write on every read.
LAST_USED_PRECISION = timedelta(minutes=1)


def hash_api_key(plaintext):
    """The stored form of a key: SHA-256, hex."""
    return hashlib.sha256(str(plaintext).encode()).hexdigest()


def create_api_key(*, store, name=""):
    """Make a new key for `store`. Returns (api_key, plaintext).

    The plaintext is not stored anywhere: show it once and forget it.
    """
    prefix = secrets.token_hex(4)  # 8 characters, fits ApiKey.prefix
    secret = secrets.token_urlsafe(32)  # 32 bytes = 256 bits
    plaintext = f"{KEY_PREFIX}_{prefix}_{secret}"
    api_key = ApiKey.objects.create(
        store=store, name=(name or "").strip()[:100], prefix=prefix, key_hash=hash_api_key(plaintext)
    )
    return api_key, plaintext


def revoke_api_key(*, api_key, now=None):
    """Stop a key from working, from now on; harmless on a key already revoked."""
    now = now or timezone.now()
    ApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(revoked_at=now)
    api_key.refresh_from_db(fields=["revoked_at"])
    return api_key


def note_api_key_used(*, api_key, now=None):
    """Remember when a key was last used, at most once a minute per key.

    One conditional UPDATE: when parallel requests race, one of them writes and the others
    match no row, so nothing waits on a lock longer than a single-row update.
    """
    now = now or timezone.now()
    if api_key.last_used_at is not None and now - api_key.last_used_at < LAST_USED_PRECISION:
        return False
    updated = ApiKey.objects.filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - LAST_USED_PRECISION), pk=api_key.pk
    ).update(last_used_at=now)
    if updated:
        api_key.last_used_at = now
    return bool(updated)
