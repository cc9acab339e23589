"""A small counter of attempts per window, kept in the shared cache (Redis in production).

Used where someone could guess: reward codes typed at the till or sent to the API. Counting
happens in the cache rather than in the database so that a flood of guesses costs no writes,
and in Redis rather than in process memory so that every web process sees the same count
(docs/architecture.md: nothing may assume one process).

The window is fixed (minute 12:00–12:01, then 12:01–12:02), so a guesser gets at most twice the
limit across a window's edge; for slowing guessing down that is enough, and it costs one
cache round trip per check.
"""

import time
from dataclasses import dataclass

from django.core.cache import cache


@dataclass(frozen=True)
class RateLimit:
    """At most `limit` counted attempts per `window` seconds for each thing counted."""

    scope: str
    limit: int
    window: int = 60

    def _key(self, who, now):
        return f"ratelimit:{self.scope}:{who}:{int(now // self.window)}"

    def is_exceeded(self, who, *, now=None):
        """True when `who` has used up this window's attempts: refuse before doing any work."""
        return cache.get(self._key(who, now or time.time()), 0) >= self.limit

    def hit(self, who, *, now=None):
        """Count one attempt by `who`; returns the attempts counted in this window so far."""
        key = self._key(who, now or time.time())
        # add() is atomic and does nothing when the key exists; incr() is atomic too. The
        # timeout outlives the window a little so that the key is never gone mid-window.
        cache.add(key, 0, timeout=self.window + 5)
        try:
            return cache.incr(key)
        except ValueError:  # evicted between add() and incr()
            cache.add(key, 1, timeout=self.window + 5)
            return 1

    def retry_after(self, *, now=None):
        """Seconds until the current window ends."""
        now = now or time.time()
        return max(1, int(self.window - now % self.window))


# Failed reward-code look-ups through the API, per store.
CODE_LOOKUPS = RateLimit("redemption-code", limit=30, window=60)
# Failed reward codes typed or scanned on the till screen, per member of staff: a person at the
# till has no reason to get 30 codes wrong in ten minutes, and one person's mistakes do not lock
# out the rest of the store (nor the store's API key).
TILL_CODE_LOOKUPS = RateLimit("till-redemption-code", limit=30, window=600)
# Till searches and member pages that find no member, per member of staff: member numbers are
# not secret, but walking through them to collect names and balances should be slow.
TILL_MEMBER_LOOKUPS = RateLimit("till-member-lookup", limit=30, window=600)
# Member numbers the API looked up and found no member for, per store (GET /members/<number>).
MEMBER_LOOKUPS = RateLimit("member-lookup", limit=60, window=60)
