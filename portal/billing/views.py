"""Usage-logs table, one log's detail, and the operator's attribution review page."""

from __future__ import annotations

import math
from urllib.parse import urlsplit

from flask import abort, current_app, redirect, render_template, request, url_for

from portal.auth.policy import ADMIN, SIGNED_IN, access, current_principal, subject_user_id
from portal.billing import bp
from portal.extensions import db
from portal.models import APIUsageLog
from portal.providers.categories import CATEGORY_VALUES
from portal.usage.filters import DEFAULT_SORT, SORTS, LogFilters, collect_filters, decode_cursor
from portal.usage.queries import list_logs
from portal.usage.recording import app_detector
from portal.usage.review import unattributed_combinations
from portal.usage.validation import InvalidInput

PAGE_SIZE = 50


@bp.get("/")
@access(SIGNED_IN, tokens=False)
def index():
    """The portal's home is the billing dashboard."""
    return redirect(url_for("billing.dashboard"))


@bp.get("/billing/usage-logs")
@access(SIGNED_IN, tokens=False)
def usage_logs():
    """The signed-in user's logs with the actual provider, filters, sorting and pagination."""
    user_id = subject_user_id(request.args)
    # Apply the filters that make sense; explain the ones that do not.
    filters, errors = collect_filters(request.args)
    sort = request.args.get("sort", DEFAULT_SORT)
    if sort not in SORTS:
        sort = DEFAULT_SORT
    page_number = _page_number(request.args.get("page"))
    cursor = (request.args.get("cursor") or None) if sort == DEFAULT_SORT else None
    if cursor is not None:
        try:
            decode_cursor(cursor)
        except InvalidInput as exc:
            errors += exc.errors
            cursor, page_number = None, 1
    # Deep pages follow a cursor (as cheap as page one); jumps use the page number.
    offset = 0 if cursor else (page_number - 1) * PAGE_SIZE
    page = list_logs(user_id, filters, PAGE_SIZE, offset, cursor, sort, count_cap=current_app.config["API_COUNT_CAP"])
    pages = max(1, math.ceil(page.total_count / PAGE_SIZE))
    link_args = filters.as_query_args()
    if user_id != current_principal().user.id:
        link_args["user_id"] = str(user_id)
    sort_args = link_args | ({"sort": sort} if sort != DEFAULT_SORT else {})
    detector = app_detector()
    return render_template(
        "billing/usage_logs.html",
        page=page,
        page_number=page_number,
        pages=pages,
        filters=filters,
        sort=sort,
        form_values={name: request.args.get(name, "") for name in LogFilters.model_fields},
        errors={e.field: e.message for e in errors},
        link_args=link_args,
        sort_args=sort_args,
        categories=CATEGORY_VALUES,
        provider_choices=sorted((detector.display_name(s) or s, s) for s in detector.slugs),
        detector=detector,
        viewing_user_id=user_id,
    ), (400 if errors else 200)


def _page_number(raw: str | None) -> int:
    """A page number from the query string; nonsense means page 1."""
    try:
        return min(max(1, int(raw or "1")), 10**6)
    except ValueError:
        return 1


@bp.get("/billing/usage-logs/<int:log_id>")
@access(SIGNED_IN, tokens=False)
def log_detail(log_id: int):
    """Every field of one log, and why its provider was attributed as it was."""
    log = db.session.get(APIUsageLog, log_id)
    principal = current_principal()
    # Another user's log answers exactly like a missing one, so ids cannot be probed.
    if log is None or (log.user_id != principal.user.id and not principal.is_admin):
        abort(404, description="No such usage log.")
    detector = app_detector()
    attribution = detector.explain(log.provider, log.model_used, log.endpoint)
    # Back to the list as it was (filters, sort, page) when we came from it.
    back = url_for("billing.usage_logs")
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc == request.host and referrer.path == back:
        back = back + ("?" + referrer.query if referrer.query else "")
    return render_template("billing/log_detail.html", log=log, attribution=attribution, detector=detector, back=back)


@bp.get("/billing/widget")
@access(SIGNED_IN, tokens=False)
def widget_demo():
    """How to embed the widget, with live examples (including its error state)."""
    return render_template("billing/widget.html")


@bp.get("/billing/admin/attribution")
@access(ADMIN, tokens=False)
def attribution_review():
    """Combinations the catalogue does not know: attributed by category alone, or not at all."""
    combos = unattributed_combinations(app_detector())
    return render_template("billing/attribution_review.html", combos=combos)
