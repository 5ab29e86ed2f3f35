"""``/api/subscription/analytics/providers``: the dashboard's numbers as JSON for widgets."""

from __future__ import annotations

import datetime as dt

from flask import current_app, jsonify, request

from portal.analytics.queries import build_dashboard
from portal.analytics.ranges import resolve_range
from portal.analytics.serialize import dashboard_as_json
from portal.api import bp
from portal.auth.policy import SIGNED_IN, access, subject_user_id
from portal.usage.recording import app_detector


@bp.get("/subscription/analytics/providers")
@access(SIGNED_IN, scope="read")
def analytics_providers():
    """Cost, calls, performance, comparison, recommendations and plan usage by actual provider."""
    user_id = subject_user_id(request.args)
    rng = resolve_range(request.args)
    board = build_dashboard(user_id, rng, app_detector(), current_app.config["PLAN_LIMITS"], dt.datetime.now(dt.timezone.utc))
    return jsonify(dashboard_as_json(board))
