"""One error shape for the API: ``application/problem+json`` (RFC 9457).

Validation failures add ``errors: [{field, message}]`` so a client can point at
the exact input. Unexpected exceptions are logged with a request id that the
response echoes, and never leak a traceback.
"""

from __future__ import annotations

import uuid

from flask import current_app, g, jsonify, request
from werkzeug.exceptions import HTTPException

from portal.auth.policy import AccessDenied, NotAuthenticated
from portal.usage.recording import NotAllowed
from portal.usage.validation import FieldError, InvalidInput

PROBLEM_JSON = "application/problem+json"


def problem(status: int, title: str, detail: str, errors: list[FieldError] | None = None, headers: dict | None = None):
    """Build a problem+json response."""
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail}
    if errors:
        body["errors"] = [e.as_dict() for e in errors]
    request_id = g.get("request_id")
    if request_id:
        body["request_id"] = request_id
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_JSON
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def wants_api_errors() -> bool:
    """Errors under /api/ answer JSON, wherever they were raised."""
    return request.path.startswith("/api/")


def handle_invalid(exc: InvalidInput):
    """400: name every bad field."""
    return problem(400, "Invalid input", str(exc), exc.errors)


def handle_not_authenticated(exc: NotAuthenticated):
    """401 with a Bearer challenge."""
    return problem(401, "Not authenticated", str(exc), headers={"WWW-Authenticate": 'Bearer realm="portal"'})


def handle_denied(exc: AccessDenied | NotAllowed):
    """403, naming the field when one is to blame."""
    errors = getattr(exc, "errors", None)
    if errors is None and getattr(exc, "field", None):
        errors = [FieldError(exc.field, str(exc))]
    return problem(403, "Forbidden", str(exc), errors)


def handle_http(exc: HTTPException):
    """404, 405, 413 and friends in the same shape."""
    return problem(exc.code or 500, exc.name, exc.description or exc.name)


def handle_unexpected(exc: Exception):
    """500 without internals; the log line and the response share a request id."""
    request_id = g.get("request_id") or uuid.uuid4().hex
    g.request_id = request_id
    current_app.logger.exception("unhandled error in %s %s [request_id=%s]", request.method, request.path, request_id)
    return problem(500, "Internal Server Error", f"An unexpected error occurred; quote request id {request_id}.")
