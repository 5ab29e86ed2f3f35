"""``flask providers redetect`` after a deployment teaches the catalogue something new."""

from __future__ import annotations

import sqlalchemy as sa

from portal import create_app
from portal.extensions import db
from portal.models import APIUsageLog
from portal.usage import record_usage

DEPLOYMENT_CATALOGUE = '''
[[families]]
name = "Studio upscaler (served by fal.ai here)"
provider = "fal"
patterns = ["studio-upscaler-*"]
'''


def providers_by_model() -> dict[str, set]:
    rows = db.session.execute(sa.select(APIUsageLog.model_used, APIUsageLog.actual_provider_name))
    out: dict[str, set] = {}
    for model, provider in rows:
        out.setdefault(model, set()).add(provider)
    return out


def test_redetect_applies_a_deployment_catalogue(app, make_user, database_url, tmp_path):
    user = make_user()
    record_usage([
        {"user_id": user.id, "provider": "video", "model_used": "studio-upscaler-v2", "endpoint": "/video-generation/upscale"},
        {"user_id": user.id, "provider": "video", "model_used": "studio-upscaler-v2", "endpoint": "/video-generation/upscale"},
        {"user_id": user.id, "provider": "gemini", "model_used": "gemini-2.5-flash"},
    ])
    # Unknown to the bundled catalogue: attributed from the category alone.
    assert providers_by_model() == {"studio-upscaler-v2": {"wavespeed"}, "gemini-2.5-flash": {"google"}}

    path = tmp_path / "deployment.toml"
    path.write_text(DEPLOYMENT_CATALOGUE)
    taught = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": database_url,
                         "PROVIDER_CATALOGUE": str(path)})
    runner = taught.test_cli_runner()
    with taught.app_context():
        dry = runner.invoke(args=["providers", "redetect", "--dry-run"])
        assert dry.exit_code == 0, dry.output
        assert "3 rows, 2 distinct" in dry.output
        assert "wavespeed" in dry.output and "fal" in dry.output and "2 rows would change" in dry.output
        assert providers_by_model()["studio-upscaler-v2"] == {"wavespeed"}

        real = runner.invoke(args=["providers", "redetect", "--batch-size", "100"])
        assert real.exit_code == 0, real.output
        assert "2 rows changed" in real.output
        db.session.expire_all()
        assert providers_by_model() == {"studio-upscaler-v2": {"fal"}, "gemini-2.5-flash": {"google"}}

        again = runner.invoke(args=["providers", "redetect"])
        assert "nothing to change" in again.output
        db.session.remove()
        db.engine.dispose()


def test_broken_catalogue_fails_at_start_up(tmp_path, database_url):
    import pytest

    from portal.providers import CatalogueError

    path = tmp_path / "bad.toml"
    path.write_text('[categories]\nvideo = "no-such-provider"\n')
    with pytest.raises(CatalogueError) as info:
        create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "PROVIDER_CATALOGUE": str(path)})
    assert "categories" in str(info.value) and "video" in str(info.value)
