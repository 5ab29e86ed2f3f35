"""Every route x every kind of caller -> the expected status.

The routes come from the app's URL map: a new route without a row in
EXPECTED fails this test, so no route can be left out of the policy review.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from portal import create_app
from portal.auth.tokens import create_token
from portal.extensions import db
from portal.models import ApiToken, utcnow
from portal.usage import record_usage

CALLERS = ("anonymous", "owner", "other", "admin", "read_token", "ingest_token", "revoked_token")
S, R, T = "session", "read", "token"

# endpoint -> (method, path template, body, {caller: status})
EXPECTED = {
    "static": ("GET", "/static/portal.css", None,
               dict(anonymous=200, owner=200, other=200, admin=200, read_token=200, ingest_token=200, revoked_token=200)),
    "auth.login": ("GET", "/login", None,
                   dict(anonymous=200, owner=200, other=200, admin=200, read_token=200, ingest_token=200, revoked_token=200)),
    "auth.logout": ("POST", "/logout", {},
                    dict(anonymous=302, owner=302, other=302, admin=302, read_token=403, ingest_token=403, revoked_token=302)),
    "billing.index": ("GET", "/", None,
                      dict(anonymous=302, owner=302, other=302, admin=302, read_token=403, ingest_token=403, revoked_token=302)),
    "billing.dashboard": ("GET", "/billing?user_id={owner_id}", None,
                          dict(anonymous=302, owner=200, other=403, admin=200, read_token=403, ingest_token=403, revoked_token=302)),
    "billing.log_detail": ("GET", "/billing/usage-logs/{owner_log_id}", None,
                           dict(anonymous=302, owner=200, other=404, admin=200, read_token=403, ingest_token=403, revoked_token=302)),
    "billing.usage_logs": ("GET", "/billing/usage-logs?user_id={owner_id}", None,
                           dict(anonymous=302, owner=200, other=403, admin=200, read_token=403, ingest_token=403, revoked_token=302)),
    "billing.widget_demo": ("GET", "/billing/widget", None,
                            dict(anonymous=302, owner=200, other=200, admin=200, read_token=403, ingest_token=403, revoked_token=302)),
    "billing.attribution_review": ("GET", "/billing/admin/attribution", None,
                                   dict(anonymous=302, owner=403, other=403, admin=200, read_token=403, ingest_token=403, revoked_token=302)),
    "account.tokens": ("GET", "/account/tokens", None,
                       dict(anonymous=302, owner=200, other=200, admin=200, read_token=403, ingest_token=403, revoked_token=302)),
    "account.create": ("POST", "/account/tokens", {"name": "n", "scopes": ["read"]},
                       dict(anonymous=302, owner=201, other=201, admin=201, read_token=403, ingest_token=403, revoked_token=302)),
    "account.revoke": ("POST", "/account/tokens/{owner_token_id}/revoke", {},
                       dict(anonymous=302, owner=302, other=404, admin=404, read_token=403, ingest_token=403, revoked_token=302)),
    "api.list_usage_logs": ("GET", "/api/subscription/usage-logs?user_id={owner_id}", None,
                            dict(anonymous=401, owner=200, other=403, admin=200, read_token=200, ingest_token=403, revoked_token=401)),
    "api.create_usage_logs": ("POST", "/api/subscription/usage-logs", {"provider": "openai"},
                              dict(anonymous=401, owner=403, other=403, admin=403, read_token=403, ingest_token=201, revoked_token=401)),
    "api.export_usage_logs_csv": ("GET", "/api/subscription/usage-logs.csv?user_id={owner_id}", None,
                                  dict(anonymous=401, owner=200, other=403, admin=200, read_token=200, ingest_token=403, revoked_token=401)),
    "api.analytics_providers": ("GET", "/api/subscription/analytics/providers?user_id={owner_id}", None,
                                dict(anonymous=401, owner=200, other=403, admin=200, read_token=200, ingest_token=403, revoked_token=401)),
    "api.openapi_document": ("GET", "/api/openapi.json", None,
                             dict(anonymous=200, owner=200, other=200, admin=200, read_token=200, ingest_token=200, revoked_token=200)),
}


def test_every_route_is_in_the_matrix(database_url):
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": database_url})
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert endpoints == set(EXPECTED), f"missing: {endpoints - set(EXPECTED)}; stale: {set(EXPECTED) - endpoints}"


@pytest.fixture
def world(make_user):
    """An owner with data and tokens, another user, an admin."""
    owner, other, admin = make_user(), make_user(), make_user(admin=True)
    read = create_token(owner, "r", frozenset({"read"}))[1]
    ingest = create_token(owner, "i", frozenset({"ingest"}))[1]
    revoked_row, revoked = create_token(owner, "x", frozenset({"read", "ingest"}))
    revoked_row.revoked_at = utcnow()
    db.session.commit()
    owner_token_id = db.session.scalar(sa.select(ApiToken.id).where(ApiToken.user_id == owner.id).order_by(ApiToken.id))
    [owner_log] = record_usage({"user_id": owner.id, "provider": "video", "model_used": "alibaba/wan-2.5/text-to-video"})
    return {"owner": owner, "other": other, "admin": admin, "read_token": read, "ingest_token": ingest,
            "revoked_token": revoked,
            "ids": {"owner_id": owner.id, "owner_token_id": owner_token_id, "owner_log_id": owner_log.id}}


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("endpoint", sorted(EXPECTED))
def test_access(client, login, world, endpoint, caller):
    method, template, body, expected = EXPECTED[endpoint]
    headers = {}
    if caller in ("owner", "other", "admin"):
        login(world[caller])
    elif caller != "anonymous":
        headers["Authorization"] = f"Bearer {world[caller]}"
    path = template.format(**world["ids"])
    if method == "GET":
        response = client.get(path, headers=headers)
    elif endpoint.startswith("api."):
        response = client.post(path, headers=headers, json=body)
    else:
        response = client.post(path, headers=headers, data=body)
    try:
        assert response.status_code == expected[caller], response.get_data(as_text=True)[:300]
        if endpoint.startswith("api.") and response.status_code >= 400:
            assert response.mimetype == "application/problem+json"
    finally:
        response.close()  # static files are streamed from an open file
