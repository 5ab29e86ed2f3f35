"""One error shape under /api/, friendly pages elsewhere, request ids that tie a 500 to its log line."""

from __future__ import annotations

import logging

from portal.auth.policy import PUBLIC, access


def test_body_too_large_is_413_problem(app, client, make_user, token_for):
    app.config["MAX_CONTENT_LENGTH"] = 1000
    response = client.post("/api/subscription/usage-logs", headers=token_for(make_user()),
                           data='{"provider": "openai", "error_message": "' + "x" * 5000 + '"}', content_type="application/json")
    assert response.status_code == 413
    assert response.mimetype == "application/problem+json"


def test_batch_over_the_limit_is_refused(app, client, make_user, token_for):
    app.config["INGEST_MAX_BATCH"] = 3
    response = client.post("/api/subscription/usage-logs", headers=token_for(make_user()), json=[{"provider": "openai"}] * 4)
    assert response.status_code == 400
    assert "at most 3 records" in response.json["errors"][0]["message"]


def test_wrong_content_type(client, make_user, token_for):
    response = client.post("/api/subscription/usage-logs", headers=token_for(make_user()), data="provider=openai")
    assert response.status_code == 400
    assert response.json["errors"][0]["field"] == "body"


def test_unexpected_error_is_logged_with_the_request_id_it_returns(app, client, caplog):
    @access(PUBLIC)
    def explode():
        raise RuntimeError("secret internals")

    app.add_url_rule("/api/explode", "api_explode", explode)
    app.add_url_rule("/explode", "page_explode", explode)
    with caplog.at_level(logging.ERROR):
        response = client.get("/api/explode", headers={"X-Request-Id": "req-abc-123"})
    assert response.status_code == 500
    assert response.mimetype == "application/problem+json"
    assert response.json["request_id"] == "req-abc-123" == response.headers["X-Request-Id"]
    assert "secret internals" not in response.get_data(as_text=True)
    assert any("req-abc-123" in r.getMessage() and r.exc_info for r in caplog.records)

    page = client.get("/explode")
    assert page.status_code == 500
    assert page.mimetype == "text/html"
    assert b"Something went wrong" in page.data and b"secret internals" not in page.data


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert b"Back to billing" in response.data
