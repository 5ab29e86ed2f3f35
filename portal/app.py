"""Application assembly: config, extensions, blueprints, error handling, CLI."""

from __future__ import annotations

import os
import uuid
from typing import Any, Mapping

from flask import Flask, g, redirect, render_template, request, url_for
from sqlalchemy import event
from werkzeug.exceptions import HTTPException

from portal.config import engine_options, settings_from_env
from portal.extensions import csrf, db, migrate

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIGRATIONS = os.path.join(ROOT, "migrations")


def build_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Create the app; ``config`` overrides the environment (tests use it)."""
    app = Flask(
        "portal",
        instance_relative_config=True,
        template_folder=os.path.join(ROOT, "templates"),
        static_folder=os.path.join(ROOT, "static"),
    )
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.update(settings_from_env(app.instance_path))
    if config:
        app.config.update(config)
        if "SQLALCHEMY_ENGINE_OPTIONS" not in config:
            # The database may have come from ``config``: tune the engine for that one.
            app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config["SQLALCHEMY_DATABASE_URI"])

    db.init_app(app)
    with app.app_context():
        _tune_sqlite(db.engine)
    migrate.init_app(app, db, directory=MIGRATIONS)
    csrf.init_app(app)

    # Fail at start-up, not on the first request, when a deployment's catalogue is broken.
    from portal.providers import detector_for

    app.extensions["portal.detector"] = detector_for(app.config.get("PROVIDER_CATALOGUE"))

    from portal import api, billing
    from portal.auth import account
    from portal.auth import views as auth_views

    app.register_blueprint(auth_views.bp)
    app.register_blueprint(account.bp)
    app.register_blueprint(billing.bp)
    app.register_blueprint(api.bp)
    # The API authenticates with bearer tokens, never the cookie, for writes.
    csrf.exempt(api.bp)

    from portal.formatting import register_filters

    register_filters(app)
    _register_request_hooks(app)
    _register_error_handlers(app)

    from portal.cli import register_cli

    register_cli(app)

    from portal.auth.policy import check_declared

    check_declared(app)
    return app


def _tune_sqlite(engine) -> None:
    """SQLite as a real multi-process database: WAL (readers never block the
    writer), a busy timeout (writers queue instead of failing with "database is
    locked"), and enforced foreign keys, as on PostgreSQL."""
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record) -> None:
        cursor = dbapi_connection.cursor()
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def _register_request_hooks(app: Flask) -> None:
    """Request id, the access policy, and security headers."""
    from portal.auth.policy import enforce

    @app.before_request
    def assign_request_id() -> None:
        """Every request gets an id that error responses and logs share."""
        incoming = request.headers.get("X-Request-Id", "")
        g.request_id = incoming if 0 < len(incoming) <= 64 and incoming.isascii() and incoming.isprintable() else uuid.uuid4().hex

    from portal.api.cors import add_cors_headers, preflight

    # Preflights carry no credentials, so they are answered before the policy runs.
    app.before_request(preflight)
    app.before_request(enforce)
    app.after_request(add_cors_headers)

    @app.after_request
    def security_headers(response):
        """Defence in depth for every response."""
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'",
        )
        response.headers["X-Request-Id"] = g.get("request_id", "")
        return response

    @app.context_processor
    def inject_principal() -> dict:
        """Templates see who is signed in."""
        return {"principal": g.get("principal")}


def _register_error_handlers(app: Flask) -> None:
    """JSON problems under /api/, friendly pages elsewhere."""
    from portal.api import errors as api_errors
    from portal.auth.policy import AccessDenied, NotAuthenticated
    from portal.usage.recording import NotAllowed
    from portal.usage.validation import InvalidInput

    def page(status: int, title: str, detail: str):
        return render_template("error.html", status=status, title=title, detail=detail), status

    @app.errorhandler(NotAuthenticated)
    def not_authenticated(exc):
        if api_errors.wants_api_errors():
            return api_errors.handle_not_authenticated(exc)
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))

    @app.errorhandler(AccessDenied)
    @app.errorhandler(NotAllowed)
    def denied(exc):
        if api_errors.wants_api_errors():
            return api_errors.handle_denied(exc)
        return page(403, "Not allowed", str(exc))

    @app.errorhandler(InvalidInput)
    def invalid(exc):
        if api_errors.wants_api_errors():
            return api_errors.handle_invalid(exc)
        return page(400, "Invalid input", str(exc))

    @app.errorhandler(HTTPException)
    def http_error(exc):
        if api_errors.wants_api_errors():
            return api_errors.handle_http(exc)
        return page(exc.code or 500, exc.name, exc.description or "")

    @app.errorhandler(Exception)
    def unexpected(exc):
        db.session.rollback()
        if api_errors.wants_api_errors():
            return api_errors.handle_unexpected(exc)
        app.logger.exception("unhandled error on %s [request_id=%s]", request.path, g.get("request_id"))
        return page(500, "Something went wrong", f"Quote request id {g.get('request_id')} when reporting this.")
