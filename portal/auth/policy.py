"""The one access policy for pages and API.

Every view declares who may call it with ``@access(...)``; a single
``before_request`` hook enforces the declaration, and ``check_declared``
refuses to start an app with a route that declares nothing, so a new route
cannot be forgotten. Pages answer a redirect to the login page, the API a 401
problem document.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import wraps
from typing import Callable, Mapping

import sqlalchemy as sa
from flask import Flask, abort, current_app, g, redirect, request, session, url_for

from portal.extensions import db
from portal.models import ApiToken, User
from portal.usage.filters import parse_subject

PUBLIC = "public"
SIGNED_IN = "signed-in"
ADMIN = "admin"


@dataclass(frozen=True)
class Rule:
    """Who may call a view: a level, and the token scope it needs (if any)."""

    level: str
    scope: str | None = None
    # Tokens are for machines; pages that change things want a browser session (CSRF-protected).
    tokens: bool = True
    sessions: bool = True
    # Whether to look the caller up at all: a stylesheet needs no database query.
    identify: bool = True


# Static files are public and anonymous: no session or token lookup for each asset.
STATIC_RULE = Rule(PUBLIC, identify=False)


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of this request."""

    user: User
    token: ApiToken | None = None

    @property
    def is_admin(self) -> bool:
        """Admins may act on any user's data."""
        return self.user.is_admin


class AccessDenied(Exception):
    """The caller is known but may not do this (403)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class NotAuthenticated(Exception):
    """The caller is not (validly) authenticated (401)."""


def access(level: str, *, scope: str | None = None, tokens: bool = True, sessions: bool = True) -> Callable:
    """Declare a view's access rule (enforced centrally by ``enforce``)."""

    def decorate(view: Callable) -> Callable:
        view._access_rule = Rule(level, scope, tokens, sessions)  # type: ignore[attr-defined]
        return view

    return decorate


def _bearer_token() -> str | None:
    """The token from ``Authorization: Bearer ...``, if the header is there."""
    header = request.headers.get("Authorization", "")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise NotAuthenticated("the Authorization header must be 'Bearer <token>'")
    return value.strip()


def load_principal() -> Principal | None:
    """Authenticate from a bearer token or the session cookie."""
    from portal.auth.tokens import find_token

    plain = _bearer_token()
    if plain is not None:
        token = find_token(plain)
        if token is None:
            raise NotAuthenticated("the API token is invalid or revoked")
        return Principal(token.user, token)
    user_id = session.get("user_id")
    if user_id is None:
        return None
    user = db.session.get(User, user_id)
    if user is None:
        session.clear()
        return None
    return Principal(user)


def rule_for_endpoint(app: Flask, endpoint: str | None) -> Rule | None:
    """The declared rule of an endpoint (static files are public)."""
    if endpoint is None:
        return None
    if endpoint == "static" or endpoint.endswith(".static"):
        return STATIC_RULE
    view = app.view_functions.get(endpoint)
    return getattr(view, "_access_rule", None)


def enforce() -> None:
    """``before_request``: authenticate, then apply the endpoint's declared rule."""
    g.principal = None
    rule = rule_for_endpoint(current_app, request.endpoint)
    if rule is None or not rule.identify:
        # Unknown endpoint (a 404/405 is coming), or a static file: nothing to protect or personalise.
        return
    try:
        g.principal = load_principal()
    except NotAuthenticated:
        if rule.level == PUBLIC:
            return
        raise
    if rule.level == PUBLIC:
        return
    principal = g.principal
    if principal is None:
        raise NotAuthenticated("sign in, or send an API token as 'Authorization: Bearer <token>'")
    if principal.token is not None:
        if not rule.tokens:
            raise AccessDenied("API tokens cannot be used here; sign in with a browser")
        if rule.scope and rule.scope not in principal.token.scope_set:
            raise AccessDenied(f"this API token lacks the '{rule.scope}' scope")
    elif not rule.sessions:
        raise AccessDenied("this endpoint takes an API token ('Authorization: Bearer <token>')")
    if rule.level == ADMIN and not principal.is_admin:
        raise AccessDenied("administrators only")


def check_declared(app: Flask) -> None:
    """Refuse to start when a route declares no access rule."""
    missing = sorted(
        rule.endpoint for rule in app.url_map.iter_rules() if rule_for_endpoint(app, rule.endpoint) is None
    )
    if missing:
        raise RuntimeError(f"routes without an access rule: {', '.join(missing)}")


def current_principal() -> Principal:
    """The authenticated caller (views behind a non-public rule always have one)."""
    principal = g.get("principal")
    if principal is None:
        raise NotAuthenticated("not signed in")
    return principal


def subject_user_id(args: Mapping[str, str]) -> int:
    """Whose data this request reads: the caller's own, or (admins only) ``user_id=``."""
    principal = current_principal()
    wanted = parse_subject(args)
    if wanted is None or wanted == principal.user.id:
        return principal.user.id
    if not principal.is_admin:
        raise AccessDenied("only administrators may view another user's usage", field="user_id")
    if db.session.get(User, wanted) is None:
        abort(404, description=f"no user with id {wanted}")
    return wanted


def user_by_email(email: str) -> User | None:
    """Look a user up by e-mail, case-insensitively."""
    return db.session.scalar(sa.select(User).where(sa.func.lower(User.email) == email.strip().lower()))
