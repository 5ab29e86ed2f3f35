"""Token management pages: created once, listed without secrets, revoked, isolated, CSRF-protected."""

from __future__ import annotations

import re

import sqlalchemy as sa

from portal import create_app
from portal.extensions import db
from portal.models import ApiToken


def create(client, name="widget", scopes=("read",)):
    return client.post("/account/tokens", data={"name": name, "scopes": list(scopes)})


def shown_token(html: str) -> str:
    return re.search(r'<pre class="token-value">(bp_[^<]+)</pre>', html).group(1)


def test_create_shows_the_token_once_and_it_works(client, make_user, login):
    user = make_user()
    login(user)
    response = create(client)
    assert response.status_code == 201
    assert response.headers["Cache-Control"] == "no-store"
    plain = shown_token(response.get_data(as_text=True))
    stored = db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == user.id))
    assert stored.name == "widget" and stored.scopes == "read" and plain not in stored.token_hash
    listing = client.get("/account/tokens").get_data(as_text=True)
    assert plain not in listing and stored.prefix in listing
    api = client.get("/api/subscription/usage-logs", headers={"Authorization": f"Bearer {plain}"})
    assert api.status_code == 200
    db.session.refresh(stored)
    assert stored.last_used_at is not None


def test_create_needs_a_name_and_a_scope(client, make_user, login):
    login(make_user())
    response = client.post("/account/tokens", data={"name": "", "scopes": []})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "This field is required" in html and "Choose at least one scope" in html


def test_revoke_own_token(client, make_user, login):
    user = make_user()
    login(user)
    plain = shown_token(create(client).get_data(as_text=True))
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == user.id))
    response = client.post(f"/account/tokens/{token.id}/revoke")
    assert response.status_code == 302
    assert client.get("/api/subscription/usage-logs", headers={"Authorization": f"Bearer {plain}"}).status_code == 401


def test_another_users_token_is_not_found(client, make_user, login, token_for):
    owner, intruder = make_user(), make_user()
    headers = token_for(owner)
    token = db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == owner.id))
    login(intruder)
    assert client.post(f"/account/tokens/{token.id}/revoke").status_code == 404
    assert client.get("/api/subscription/usage-logs", headers=headers).status_code == 200


def test_forms_require_csrf_tokens(database_url, make_user):
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": database_url})
    client = app.test_client()
    with app.app_context():
        user = make_user()
        # Without the form's CSRF token the sign-in is refused outright.
        response = client.post("/login", data={"email": user.email, "password": "password123"})
        assert response.status_code == 400 or b"do not match" not in response.data
        assert client.get("/billing/usage-logs").status_code == 302
        page = client.get("/login").get_data(as_text=True)
        csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        ok = client.post("/login", data={"email": user.email, "password": "password123", "csrf_token": csrf})
        assert ok.status_code == 302
        # Signed in, a state-changing form without its token is still refused.
        assert client.post("/logout").status_code == 400
        assert client.get("/billing/usage-logs").status_code == 200
        db.session.remove()
        db.engine.dispose()
