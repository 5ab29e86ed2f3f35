"""The command line: users, tokens, usage import, providers, demo."""

from __future__ import annotations

import json

import sqlalchemy as sa

from portal.extensions import db
from portal.models import APIUsageLog, ApiToken, User


def last_line(output: str) -> str:
    return output.strip().splitlines()[-1]


def test_users_create_prints_id_last(runner):
    result = runner.invoke(args=["users", "create", "new@example.com", "--password", "s3cret-pass"])
    assert result.exit_code == 0, result.output
    user = db.session.scalar(sa.select(User).where(User.email == "new@example.com"))
    assert last_line(result.output) == str(user.id)
    assert user.password_hash and "s3cret-pass" not in user.password_hash
    assert not user.is_admin


def test_users_create_prompts_for_password(runner):
    result = runner.invoke(args=["users", "create", "p@example.com", "--admin"], input="longpassword\nlongpassword\n")
    assert result.exit_code == 0, result.output
    assert db.session.scalar(sa.select(User.is_admin).where(User.email == "p@example.com")) is True


def test_users_create_refuses_duplicates_and_short_passwords(runner, make_user):
    make_user("dup@example.com")
    assert runner.invoke(args=["users", "create", "dup@example.com", "--password", "longenough"]).exit_code != 0
    result = runner.invoke(args=["users", "create", "short@example.com", "--password", "x"])
    assert result.exit_code != 0 and "8 characters" in result.output


def test_tokens_create_prints_token_last_and_stores_only_hash(runner, make_user, client):
    user = make_user()
    result = runner.invoke(args=["tokens", "create", user.email, "--scope", "read"])
    assert result.exit_code == 0, result.output
    plain = last_line(result.output)
    stored = db.session.scalar(sa.select(ApiToken).where(ApiToken.user_id == user.id))
    assert plain not in (stored.token_hash, stored.prefix) and stored.scopes == "read"
    response = client.get("/api/subscription/usage-logs", headers={"Authorization": f"Bearer {plain}"})
    assert response.status_code == 200


def write_jsonl(path, records):
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in records) + "\n")
    return str(path)


def test_usage_import(runner, make_user, tmp_path):
    user = make_user()
    path = write_jsonl(tmp_path / "u.jsonl", [
        {"user_id": user.id, "provider": "video", "model_used": "alibaba/wan-2.5/text-to-video",
         "endpoint": "/video-generation/wavespeed", "cost_total": "0.5"},
        "",
        {"user_id": user.id, "provider": "gemini", "model_used": "gemini-2.5-flash", "cost_total": 0.25},
    ])
    result = runner.invoke(args=["usage", "import", path])
    assert result.exit_code == 0, result.output
    rows = db.session.execute(sa.select(APIUsageLog.actual_provider_name, APIUsageLog.cost_total).order_by(APIUsageLog.id)).all()
    assert [(r[0], str(r[1].normalize())) for r in rows] == [("wavespeed", "0.5"), ("google", "0.25")]


def test_usage_import_reports_every_bad_line_and_imports_nothing(runner, make_user, tmp_path):
    user = make_user()
    path = write_jsonl(tmp_path / "bad.jsonl", [
        {"user_id": user.id, "provider": "video"},
        {"user_id": user.id, "provider": "nope"},
        "{broken json",
        {"user_id": user.id, "provider": "openai", "tokens_input": -3},
    ])
    result = runner.invoke(args=["usage", "import", path])
    assert result.exit_code == 1
    assert "line 2: provider:" in result.output
    assert "line 3: not valid JSON" in result.output
    assert "line 4: tokens_input:" in result.output
    assert "nothing was imported" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(APIUsageLog)) == 0


def test_usage_import_unknown_user_names_the_line(runner, make_user, tmp_path):
    user = make_user()
    path = write_jsonl(tmp_path / "u.jsonl", [{"user_id": user.id, "provider": "video"}, {"user_id": 424242, "provider": "video"}])
    result = runner.invoke(args=["usage", "import", path])
    assert result.exit_code == 1
    assert "line 2: user_id: no user with id 424242" in result.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(APIUsageLog)) == 0


def test_providers_explain(runner):
    result = runner.invoke(args=["providers", "explain", "openai/gpt-oss-120b:groq", "--category", "mistral"])
    assert result.exit_code == 0, result.output
    assert "provider: huggingface" in result.output
    assert "evidence: model" in result.output


def test_demo_is_idempotent(runner):
    first = runner.invoke(args=["demo", "--rows", "200"])
    assert first.exit_code == 0, first.output
    assert "Created 200 demo usage logs" in first.output
    second = runner.invoke(args=["demo", "--rows", "200"])
    assert "already present" in second.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(APIUsageLog)) == 200
    unattributed = db.session.scalar(sa.select(sa.func.count()).select_from(APIUsageLog).where(APIUsageLog.actual_provider_name.is_(None)))
    assert unattributed == 0
