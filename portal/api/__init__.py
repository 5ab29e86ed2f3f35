"""JSON API for widgets and reporting services, with its own error handling."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from portal.api import analytics, errors, openapi, usage_logs  # noqa: E402,F401  (registers routes and handlers)
