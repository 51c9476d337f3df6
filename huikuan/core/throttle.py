"""Rate limits kept in the cache: sign-in failures and portal requests.

A fixed window per key is enough here: it bounds guessing (a password, a portal key) without
remembering every request. The cache is shared by every process of one deployment
(settings.CACHES), so the limit holds however many server processes run.
"""

from __future__ import annotations

from django.core.cache import cache


def throttle_hit(*, key: str, limit: int, window_seconds: int) -> bool:
    """Count one event under ``key``; return True while the window's count is within ``limit``."""
    cache_key = f"throttle:{key}"
    # add() only sets a missing key, so the window starts at the first event and is not extended.
    if cache.add(cache_key, 1, timeout=window_seconds):
        return limit >= 1
    try:
        count = cache.incr(cache_key)
    except ValueError:  # expired between add() and incr()
        cache.add(cache_key, 1, timeout=window_seconds)
        count = 1
    return count <= limit


def throttle_exceeded(*, key: str, limit: int) -> bool:
    """Return True if ``key`` has already used up its ``limit`` in the current window."""
    return int(cache.get(f"throttle:{key}", 0)) >= limit


def throttle_reset(*, key: str) -> None:
    """Forget the count under ``key`` (after a successful sign-in, say)."""
    cache.delete(f"throttle:{key}")
