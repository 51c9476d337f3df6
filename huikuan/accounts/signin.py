"""Sign-in throttling: failures are counted per username and per client address in the cache.

After ``HUIKUAN_LOGIN_MAX_FAILURES`` failures for one username within
``HUIKUAN_LOGIN_LOCK_SECONDS`` (from the first of them), that username is locked until the
window ends: no password is even checked, so guessing stops. One address may fail
``HUIKUAN_LOGIN_MAX_FAILURES_PER_ADDRESS`` times (four times as many by default, since a whole
office may sign in from one address) before it is locked for every username. A successful
sign-in clears its username's count but not its address's, so one known password cannot
buy more guesses at others.
"""

from __future__ import annotations

import hashlib

from django.conf import settings

from huikuan.core.throttle import throttle_exceeded, throttle_hit, throttle_reset

ADDRESS_FACTOR = 4


def _limits() -> tuple[int, int, int]:
    per_user = int(settings.HUIKUAN_LOGIN_MAX_FAILURES)
    per_address = int(getattr(settings, "HUIKUAN_LOGIN_MAX_FAILURES_PER_ADDRESS", per_user * ADDRESS_FACTOR))
    return per_user, per_address, int(settings.HUIKUAN_LOGIN_LOCK_SECONDS)


def _user_key(username: str) -> str:
    # Hashed: usernames are whatever people type, and cache keys must be short and plain.
    digest = hashlib.sha256(username.strip().casefold().encode("utf-8")).hexdigest()[:32]
    return f"login:user:{digest}"


def _address_key(address: str) -> str:
    return f"login:address:{address or 'unknown'}"


def login_locked(*, username: str, address: str) -> bool:
    """Return whether sign-in is locked for this username or from this address."""
    per_user, per_address, _window = _limits()
    return throttle_exceeded(key=_user_key(username), limit=per_user) or throttle_exceeded(
        key=_address_key(address), limit=per_address
    )


def login_failure_record(*, username: str, address: str) -> bool:
    """Count a failed sign-in; return True when it has now locked the username or address."""
    per_user, per_address, window = _limits()
    user_ok = throttle_hit(key=_user_key(username), limit=per_user, window_seconds=window)
    address_ok = throttle_hit(key=_address_key(address), limit=per_address, window_seconds=window)
    return not (user_ok and address_ok) or login_locked(username=username, address=address)


def login_success_record(*, username: str) -> None:
    """Forget the username's failures after a successful sign-in."""
    throttle_reset(key=_user_key(username))


def login_lock_minutes() -> int:
    """Return the longest a lock lasts, in whole minutes (at least one)."""
    return max(1, -(-_limits()[2] // 60))
