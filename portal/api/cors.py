"""Cross-origin reads for widgets on other sites: off unless configured.

``CORS_ORIGINS`` (comma-separated origins, or ``*``) lists who may read.
Only GET (and its preflight) under /api/ is ever allowed; writes never are.
Credentials are never allowed cross-origin: a widget elsewhere sends a
read-scoped bearer token, so a visitor's session cookie cannot be ridden.
"""

from __future__ import annotations

from flask import Flask, current_app, request

READ_METHODS = {"GET", "HEAD"}
MAX_AGE = "600"


def allowed_origins(app: Flask) -> tuple[frozenset[str], bool]:
    """Configured origins, and whether any origin is allowed."""
    raw = app.config.get("CORS_ORIGINS") or ""
    origins = frozenset(o.strip().rstrip("/") for o in raw.split(",") if o.strip())
    return origins - {"*"}, "*" in origins


def _allow_origin_value(origin: str | None) -> str | None:
    """What to answer in Access-Control-Allow-Origin, or None to refuse."""
    if not origin or not request.path.startswith("/api/"):
        return None
    origins, any_origin = allowed_origins(current_app)
    if any_origin:
        return "*"
    return origin if origin in origins else None


def preflight():
    """``before_request``: answer CORS preflights before authentication runs (browsers send no token)."""
    if request.method != "OPTIONS" or "Access-Control-Request-Method" not in request.headers:
        return None
    if not request.path.startswith("/api/"):
        return None
    response = current_app.make_response(("", 204))
    allow = _allow_origin_value(request.headers.get("Origin"))
    wanted = request.headers.get("Access-Control-Request-Method", "").upper()
    if allow and wanted in READ_METHODS:
        response.headers["Access-Control-Allow-Origin"] = allow
        response.headers["Access-Control-Allow-Methods"] = "GET, HEAD"
        response.headers["Access-Control-Allow-Headers"] = "Authorization"
        response.headers["Access-Control-Max-Age"] = MAX_AGE
    response.headers["Vary"] = "Origin"
    return response


def add_cors_headers(response):
    """``after_request``: let an allowed origin read a GET response."""
    if request.method in READ_METHODS:
        allow = _allow_origin_value(request.headers.get("Origin"))
        if allow:
            response.headers["Access-Control-Allow-Origin"] = allow
            response.headers["Access-Control-Expose-Headers"] = "X-Request-Id"
    if request.path.startswith("/api/"):
        response.vary.add("Origin")
    return response
