"""The billing dashboard: where the money goes, by actual provider."""

from __future__ import annotations

import datetime as dt

from flask import current_app, render_template, request

from portal.analytics.charts import stacked_cost_chart
from portal.analytics.queries import WORK_LABELS, build_dashboard
from portal.analytics.ranges import COMMON_ZONES, PRESETS, resolve_range
from portal.auth.policy import SIGNED_IN, access, current_principal, subject_user_id
from portal.billing import bp
from portal.usage.filters import iso_utc
from portal.usage.recording import app_detector
from portal.usage.validation import InvalidInput


def logs_link_args(board, user_id: int, own_id: int, **filters) -> dict[str, str]:
    """Query arguments for the usage-logs page showing the rows behind a number."""
    args = {"start": iso_utc(board.range.start), "end": iso_utc(board.range.end)}
    args.update({k: (iso_utc(v) if isinstance(v, dt.datetime) else v) for k, v in filters.items() if v is not None})
    if user_id != own_id:
        args["user_id"] = str(user_id)
    return args


@bp.get("/billing")
@access(SIGNED_IN, tokens=False)
def dashboard():
    """Summary cards, cost by provider (chart and table), performance, comparison, advice, plan usage."""
    user_id = subject_user_id(request.args)
    errors = []
    try:
        rng = resolve_range(request.args)
    except InvalidInput as exc:
        errors = exc.errors
        # Keep what parsed (the zone, say) and fall back to the default range.
        rng = resolve_range({"tz": request.args.get("tz", "")} if "tz" not in {e.field for e in errors} else {})
    detector = app_detector()
    now = dt.datetime.now(dt.timezone.utc)
    board = build_dashboard(user_id, rng, detector, current_app.config["PLAN_LIMITS"], now)
    order = [row.slug for row in board.breakdown.rows if row.cost > 0]
    names = {row.slug: row.display for row in board.breakdown.rows}
    chart = stacked_cost_chart(board.series, order, names, rng.bucket)
    own_id = current_principal().user.id
    return render_template(
        "billing/dashboard.html",
        board=board, chart=chart, presets=PRESETS, zones=sorted(set(COMMON_ZONES) | {rng.zone}),
        work_labels=WORK_LABELS, errors={e.field: e.message for e in errors},
        link=lambda **f: logs_link_args(board, user_id, own_id, **f),
        range_args=rng.query_args() | ({"user_id": str(user_id)} if user_id != own_id else {}),
        viewing_user_id=user_id, own_id=own_id,
    ), (400 if errors else 200)
