"""``/api/subscription/usage-logs``: read a user's logs, record new ones."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

from flask import Response, current_app, jsonify, request, stream_with_context

from portal.api import bp
from portal.auth.policy import SIGNED_IN, access, current_principal, subject_user_id
from portal.usage.filters import parse_filters, parse_paging
from portal.usage.export import csv_lines
from portal.usage.queries import iter_logs, list_logs, log_as_json
from portal.usage.recording import app_detector, record_usage
from portal.usage.validation import FieldError, InvalidInput


@bp.get("/subscription/usage-logs")
@access(SIGNED_IN, scope="read")
def list_usage_logs():
    """The caller's logs (or, for admins, ``user_id=``'s), newest first, filtered and paged."""
    user_id = subject_user_id(request.args)
    filters = parse_filters(request.args)
    wanted = parse_paging(request.args, current_app.config["API_MAX_PAGE_SIZE"])
    page = list_logs(user_id, filters, wanted.limit, wanted.offset, wanted.cursor, wanted.sort,
                     count_cap=current_app.config["API_COUNT_CAP"])
    detector = app_detector()
    return jsonify(
        logs=[log_as_json(row, detector) for row in page.rows],
        total_count=page.total_count,
        total_count_exact=page.total_exact,
        limit=page.limit,
        offset=page.offset,
        has_more=page.has_more,
        next_cursor=page.next_cursor,
    )


@bp.get("/subscription/usage-logs.csv")
@access(SIGNED_IN, scope="read")
def export_usage_logs_csv():
    """Every log matching the filters, newest first, as CSV (streamed; UTC timestamps; exact decimals)."""
    user_id = subject_user_id(request.args)
    filters = parse_filters(request.args)
    detector = app_detector()
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return Response(
        stream_with_context(csv_lines(iter_logs(user_id, filters), detector)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="usage-logs-{stamp}.csv"', "Cache-Control": "no-store"},
    )


def _json_body():
    """Parse the body with exact decimals (a JSON 0.1 must not become a float)."""
    if not request.is_json:
        raise InvalidInput([FieldError("body", "send JSON with Content-Type: application/json")])
    try:
        return json.loads(request.get_data(cache=False), parse_float=Decimal)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput([FieldError("body", f"is not valid JSON ({exc})")]) from None


@bp.post("/subscription/usage-logs")
@access(SIGNED_IN, scope="ingest", sessions=False)
def create_usage_logs():
    """Record one usage record (object) or a batch (array); all or nothing."""
    body = _json_body()
    principal = current_principal()
    if isinstance(body, list):
        limit = current_app.config["INGEST_MAX_BATCH"]
        if not body:
            raise InvalidInput([FieldError("body", "the batch is empty")])
        if len(body) > limit:
            raise InvalidInput([FieldError("body", f"a batch holds at most {limit} records, got {len(body)}")])
    elif not isinstance(body, dict):
        raise InvalidInput([FieldError("body", "must be a JSON object or an array of objects")])
    recorded = record_usage(
        body,
        default_user_id=principal.user.id,
        allowed_user_ids=None if principal.is_admin else frozenset({principal.user.id}),
    )
    detector = app_detector()
    logs = [log_as_json(row, detector) for row in recorded.rows]
    # 201 when something was stored; 200 when every record was a retry of a stored key.
    status = 201 if recorded.created else 200
    if isinstance(body, dict):
        return jsonify(logs[0]), status
    return jsonify(logs=logs, count=len(logs), created=recorded.created), status
