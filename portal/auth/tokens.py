"""Personal API tokens: shown once, stored as a SHA-256 digest."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets

import sqlalchemy as sa

from portal.extensions import db
from portal.models import ApiToken, User, utcnow

TOKEN_PREFIX = "bp_"
SCOPES = frozenset({"read", "ingest"})


def hash_token(token: str) -> str:
    """Digest under which a token is stored and looked up."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def create_token(user: User, name: str = "", scopes: frozenset[str] = SCOPES) -> tuple[ApiToken, str]:
    """Create a token for ``user``; return the row and the plain token (shown once)."""
    unknown = set(scopes) - SCOPES
    if unknown or not scopes:
        raise ValueError(f"scopes must be a non-empty subset of {sorted(SCOPES)}, got {sorted(scopes)}")
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user=user,
        name=name[:100],
        token_hash=hash_token(plain),
        prefix=plain[:10],
        scopes=" ".join(sorted(scopes)),
    )
    db.session.add(token)
    db.session.commit()
    return token, plain


# Recording every use would turn each read request into a durable write; a
# last-used time to within a few minutes is what people need to spot stale tokens.
LAST_USED_RESOLUTION = dt.timedelta(minutes=5)


def find_token(plain: str) -> ApiToken | None:
    """The live (unrevoked) token for ``plain``, or None; records its last use (to within 5 minutes)."""
    if not plain.startswith(TOKEN_PREFIX) or len(plain) > 200:
        return None
    digest = hash_token(plain)
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == digest))
    # The lookup is by digest; compare again in constant time so a future change
    # to the lookup (a prefix index, say) cannot turn into a timing oracle.
    if token is None or not hmac.compare_digest(token.token_hash, digest) or token.revoked_at is not None:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_RESOLUTION:
        db.session.execute(sa.update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now))
        db.session.commit()
    return token
