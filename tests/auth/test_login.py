"""Sign-in, sign-out and the session cookie."""

from __future__ import annotations


def test_login_page_renders(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert b"Sign in" in response.data


def test_wrong_password_is_refused(client, make_user):
    user = make_user()
    response = client.post("/login", data={"email": user.email, "password": "nope-nope"})
    assert response.status_code == 401
    assert b"do not match" in response.data
    assert client.get("/billing/usage-logs").status_code == 302


def test_unknown_email_is_refused_the_same_way(client):
    response = client.post("/login", data={"email": "ghost@example.com", "password": "whatever1"})
    assert response.status_code == 401
    assert b"do not match" in response.data


def test_login_then_logout(client, make_user, login):
    user = make_user()
    login(user)
    assert client.get("/billing/usage-logs").status_code == 200
    response = client.post("/logout")
    assert response.status_code == 302
    assert client.get("/billing/usage-logs").status_code == 302


def test_next_only_follows_local_paths(client, make_user):
    user = make_user()
    response = client.post("/login?next=https://evil.example/", data={"email": user.email, "password": "password123"})
    assert response.headers["Location"] == "/billing"
    client.post("/logout")
    response = client.post("/login?next=/billing/usage-logs?status=failed", data={"email": user.email, "password": "password123"})
    assert response.headers["Location"] == "/billing/usage-logs?status=failed"


def test_session_cookie_flags(client, make_user):
    user = make_user()
    response = client.post("/login", data={"email": user.email, "password": "password123"})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_token_cannot_open_pages(client, make_user, token_for):
    user = make_user()
    response = client.get("/billing/usage-logs", headers=token_for(user))
    assert response.status_code == 403


def test_revoked_token_is_refused(client, make_user, runner):
    user = make_user()
    result = runner.invoke(args=["tokens", "create", user.email])
    plain = result.output.strip().splitlines()[-1]
    headers = {"Authorization": f"Bearer {plain}"}
    assert client.get("/api/subscription/usage-logs", headers=headers).status_code == 200
    token_id = runner.invoke(args=["tokens", "list", user.email]).output.split("\t")[0]
    runner.invoke(args=["tokens", "revoke", token_id])
    assert client.get("/api/subscription/usage-logs", headers=headers).status_code == 401


def test_every_route_declares_an_access_rule(app):
    from portal.auth.policy import rule_for_endpoint

    for rule in app.url_map.iter_rules():
        assert rule_for_endpoint(app, rule.endpoint) is not None, rule.endpoint


def test_repeated_failures_lock_the_account_for_a_while(client, make_user):
    from portal.auth.throttle import MAX_FAILURES

    user = make_user()
    for _ in range(MAX_FAILURES):
        assert client.post("/login", data={"email": user.email, "password": "wrong-guess"}).status_code == 401
    # Now even the right password waits: the guesser cannot tell it was right.
    response = client.post("/login", data={"email": user.email, "password": "password123"})
    assert response.status_code == 429
    assert int(response.headers["Retry-After"]) > 60
    assert b"Too many failed sign-ins" in response.data


def test_success_clears_earlier_failures(client, make_user):
    from portal.auth.throttle import MAX_FAILURES

    user = make_user()
    for _ in range(MAX_FAILURES - 1):
        client.post("/login", data={"email": user.email, "password": "wrong-guess"})
    assert client.post("/login", data={"email": user.email, "password": "password123"}).status_code == 302
    client.post("/logout")
    assert client.post("/login", data={"email": user.email, "password": "wrong-guess"}).status_code == 401
    assert client.post("/login", data={"email": user.email, "password": "password123"}).status_code == 302


def test_one_address_guessing_many_accounts_is_locked(client, make_user):
    from portal.auth.throttle import MAX_FAILURES_PER_ADDRESS

    victim = make_user()
    for n in range(MAX_FAILURES_PER_ADDRESS):
        client.post("/login", data={"email": f"guess{n}@example.com", "password": "wrong-guess"})
    assert client.post("/login", data={"email": victim.email, "password": "password123"}).status_code == 429


def test_static_files_do_not_touch_the_database(client, make_user, login, app):
    import sqlalchemy as sa

    from portal.extensions import db

    login(make_user())
    statements = []

    def record(conn, cursor, statement, *rest):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        response = client.get("/static/portal.css")
        response.close()
        for_static = list(statements)
        page = client.get("/billing/usage-logs")
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
    assert response.status_code == 200 and page.status_code == 200
    # The page looks the signed-in user up; the stylesheet did not.
    assert for_static == []
    assert any("FROM users" in statement for statement in statements)
