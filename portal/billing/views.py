"""Usage-logs table and the operator's attribution review page."""

from __future__ import annotations

import math

from flask import current_app, redirect, render_template, request, url_for

from portal.auth.policy import ADMIN, SIGNED_IN, access, current_principal, subject_user_id
from portal.billing import bp
from portal.providers.categories import CATEGORY_VALUES
from portal.usage.filters import LogFilters, collect_filters
from portal.usage.queries import list_logs
from portal.usage.recording import app_detector
from portal.usage.review import unattributed_combinations

PAGE_SIZE = 50


@bp.get("/")
@access(SIGNED_IN, tokens=False)
def index():
    """The portal's home is the billing area."""
    return redirect(url_for("billing.usage_logs"))


@bp.get("/billing")
@access(SIGNED_IN, tokens=False)
def billing_home():
    """Billing landing page (the usage logs until the dashboard exists)."""
    return redirect(url_for("billing.usage_logs", **request.args))


@bp.get("/billing/usage-logs")
@access(SIGNED_IN, tokens=False)
def usage_logs():
    """The signed-in user's logs with the actual provider, filters and pagination."""
    user_id = subject_user_id(request.args)
    # Apply the filters that make sense; explain the ones that do not.
    filters, errors = collect_filters(request.args)
    try:
        page_number = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page_number = 1
    page = list_logs(user_id, filters, PAGE_SIZE, (page_number - 1) * PAGE_SIZE)
    pages = max(1, math.ceil(page.total_count / PAGE_SIZE))
    link_args = filters.as_query_args()
    if user_id != current_principal().user.id:
        link_args["user_id"] = str(user_id)
    detector = app_detector()
    return render_template(
        "billing/usage_logs.html",
        page=page,
        page_number=page_number,
        pages=pages,
        filters=filters,
        form_values={name: request.args.get(name, "") for name in LogFilters.model_fields},
        errors={e.field: e.message for e in errors},
        link_args=link_args,
        categories=CATEGORY_VALUES,
        provider_choices=sorted((detector.display_name(s) or s, s) for s in detector.slugs),
        detector=detector,
        viewing_user_id=user_id,
    ), (400 if errors else 200)


@bp.get("/billing/admin/attribution")
@access(ADMIN, tokens=False)
def attribution_review():
    """Combinations the catalogue does not know: attributed by category alone, or not at all."""
    combos = unattributed_combinations(app_detector())
    return render_template("billing/attribution_review.html", combos=combos)
