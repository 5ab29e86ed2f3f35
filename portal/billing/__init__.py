"""Server-rendered billing pages."""

from flask import Blueprint

bp = Blueprint("billing", __name__)

from portal.billing import dashboard, views  # noqa: E402,F401  (registers routes)
