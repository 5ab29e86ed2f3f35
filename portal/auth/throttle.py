"""Login throttling: after repeated failures, an e-mail or an address waits.

Kept in the database (not process memory) so every gunicorn worker sees the
same counts. Five failures for one e-mail (or 20 from one address, which an
office may share) within 15 minutes lock that key for 15 minutes; a
successful sign-in clears its e-mail key.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from portal.extensions import db
from portal.models import LoginThrottle, utcnow

MAX_FAILURES = 5
MAX_FAILURES_PER_ADDRESS = 20
WINDOW = dt.timedelta(minutes=15)
LOCKOUT = dt.timedelta(minutes=15)


def keys_for(email: str, address: str | None) -> list[str]:
    """Throttle per account and per client address."""
    keys = [f"email:{email.strip().lower()[:254]}"]
    if address:
        keys.append(f"ip:{address[:64]}")
    return keys


def locked_for(keys: list[str]) -> dt.timedelta | None:
    """How long until these keys may try again, or None when they may now."""
    now = utcnow()
    until = db.session.scalar(
        sa.select(sa.func.max(LoginThrottle.locked_until)).where(LoginThrottle.key.in_(keys), LoginThrottle.locked_until > now)
    )
    return None if until is None else until - now


def record_failure(keys: list[str]) -> None:
    """Count a failed attempt; lock a key that reached the limit."""
    now = utcnow()
    for key in keys:
        row = db.session.get(LoginThrottle, key)
        if row is None:
            row = LoginThrottle(key=key, failures=0, window_started_at=now)
            db.session.add(row)
        if now - row.window_started_at > WINDOW:
            row.failures, row.window_started_at = 0, now
        row.failures += 1
        limit = MAX_FAILURES_PER_ADDRESS if key.startswith("ip:") else MAX_FAILURES
        if row.failures >= limit:
            row.locked_until = now + LOCKOUT
            row.failures, row.window_started_at = 0, now
    db.session.commit()


def clear(key: str) -> None:
    """Forget failures after a successful sign-in."""
    db.session.execute(sa.delete(LoginThrottle).where(LoginThrottle.key == key))
    db.session.commit()
