"""Cross-origin reads: off by default, configured origins only, never writes, never credentials."""

from __future__ import annotations

import pytest

PREFLIGHT = {"Access-Control-Request-Method": "GET", "Access-Control-Request-Headers": "authorization"}


def test_off_by_default(client, make_user, token_for):
    headers = token_for(make_user()) | {"Origin": "https://widgets.example"}
    response = client.get("/api/subscription/usage-logs", headers=headers)
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response.headers
    preflight = client.options("/api/subscription/usage-logs", headers={"Origin": "https://widgets.example"} | PREFLIGHT)
    assert "Access-Control-Allow-Origin" not in preflight.headers


@pytest.fixture
def cors_app(app):
    app.config["CORS_ORIGINS"] = "https://widgets.example, https://other.example/"
    return app


def test_configured_origin_may_read(cors_app, client, make_user, token_for):
    headers = token_for(make_user()) | {"Origin": "https://widgets.example"}
    response = client.get("/api/subscription/usage-logs", headers=headers)
    assert response.headers["Access-Control-Allow-Origin"] == "https://widgets.example"
    assert "Access-Control-Allow-Credentials" not in response.headers
    assert "Origin" in response.headers["Vary"]
    preflight = client.options("/api/subscription/usage-logs", headers={"Origin": "https://other.example"} | PREFLIGHT)
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://other.example"
    assert preflight.headers["Access-Control-Allow-Headers"] == "Authorization"


def test_unlisted_origin_and_writes_are_refused(cors_app, client, make_user, token_for):
    headers = token_for(make_user())
    response = client.get("/api/subscription/usage-logs", headers=headers | {"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in response.headers
    preflight = client.options("/api/subscription/usage-logs",
                               headers={"Origin": "https://widgets.example", "Access-Control-Request-Method": "POST"})
    assert "Access-Control-Allow-Origin" not in preflight.headers
    post = client.post("/api/subscription/usage-logs", headers=headers | {"Origin": "https://widgets.example"}, json={"provider": "openai"})
    assert "Access-Control-Allow-Origin" not in post.headers


def test_wildcard_never_allows_credentials(app, client, make_user, token_for):
    app.config["CORS_ORIGINS"] = "*"
    response = client.get("/api/subscription/usage-logs", headers=token_for(make_user()) | {"Origin": "https://any.example"})
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response.headers


def test_pages_never_get_cors_headers(app, client):
    app.config["CORS_ORIGINS"] = "*"
    response = client.get("/login", headers={"Origin": "https://any.example"})
    assert "Access-Control-Allow-Origin" not in response.headers


def test_security_headers_on_every_response(client):
    for path in ("/login", "/api/openapi.json", "/api/nope"):
        headers = client.get(path).headers
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["X-Frame-Options"] == "DENY"
        assert "script-src 'self'" in headers["Content-Security-Policy"]
        assert "unsafe-inline" not in headers["Content-Security-Policy"]
        assert headers["Referrer-Policy"]
