"""Settings read from the environment, with defaults that need no server."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path


def _int_env(name: str, default: int) -> int:
    """Read an integer environment variable, naming it when it is not a number."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise RuntimeError(f"{name} must be an integer, got {raw!r}") from exc


# Monthly call limits per category for the default plan (PLAN_LIMITS overrides, as JSON).
DEFAULT_PLAN_LIMITS = {
    "gemini": 20000, "openai": 20000, "anthropic": 10000, "mistral": 10000, "wavespeed": 2000,
    "video": 500, "audio": 2000, "stability": 3000, "image_edit": 1000,
    "tavily": 5000, "serper": 5000, "metaphor": 5000, "exa": 5000, "firecrawl": 2000,
}


def plan_limits_from_env() -> dict[str, int]:
    """PLAN_LIMITS='{"video": 800, ...}' merged over the defaults; errors name the bad entry."""
    raw = os.environ.get("PLAN_LIMITS")
    limits = dict(DEFAULT_PLAN_LIMITS)
    if not raw:
        return limits
    try:
        given = json.loads(raw)
    except ValueError as exc:
        raise RuntimeError(f"PLAN_LIMITS is not valid JSON: {exc}") from exc
    if not isinstance(given, dict):
        raise RuntimeError("PLAN_LIMITS must be a JSON object of category -> monthly call limit")
    for category, limit in given.items():
        if category not in DEFAULT_PLAN_LIMITS:
            raise RuntimeError(f"PLAN_LIMITS: unknown category {category!r}")
        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 0:
            raise RuntimeError(f"PLAN_LIMITS[{category!r}] must be a whole number >= 0 (0 = no limit)")
        limits[category] = limit
    return limits


def engine_options(database_url: str) -> dict:
    """Engine settings per database."""
    options: dict = {"pool_pre_ping": True}
    if database_url.startswith("postgresql+psycopg"):
        # psycopg prepares a statement from its 5th use, and PostgreSQL then may switch
        # to a generic plan made for an average user: for a heavy user the keyset page
        # went from 1-3 ms to ~50 ms. Plan every query for its own parameters.
        # JIT compiles "expensive-looking" plans: a dashboard's many small index
        # scans spent 3.5 s compiling to run in 0.1 s. Off for the portal's sessions.
        options["connect_args"] = {"prepare_threshold": None, "options": "-c jit=off"}
    return options


def settings_from_env(instance_path: str) -> dict:
    """Return the Flask config mapping for this process.

    ``DATABASE_URL`` is a SQLAlchemy URL; unset, the portal uses a SQLite file
    in the instance folder so a newcomer needs no database server.
    """
    database_url = os.environ.get("DATABASE_URL") or (
        "sqlite:///" + str(Path(instance_path) / "portal.sqlite3")
    )
    # Heroku-style URLs say "postgres://"; SQLAlchemy wants a driver name.
    if database_url.startswith("postgres://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgres://"):]
    elif database_url.startswith("postgresql://"):
        database_url = "postgresql+psycopg://" + database_url[len("postgresql://"):]

    secret_key = os.environ.get("SECRET_KEY")
    return {
        "SQLALCHEMY_DATABASE_URI": database_url,
        # A random key keeps a dev server safe; production must set SECRET_KEY
        # or sessions die with every restart (and differ between gunicorn workers).
        "SECRET_KEY": secret_key or secrets.token_hex(32),
        "SECRET_KEY_FROM_ENV": bool(secret_key),
        # Path to a deployment's own provider catalogue (TOML), merged over the bundled one.
        "PROVIDER_CATALOGUE": os.environ.get("PROVIDER_CATALOGUE") or None,
        "API_MAX_PAGE_SIZE": _int_env("API_MAX_PAGE_SIZE", 500),
        # Listings count matching rows up to this many (0 = always count exactly).
        "API_COUNT_CAP": _int_env("API_COUNT_CAP", 10_000) or None,
        # Rows (by id range) per committed UPDATE of the actual_provider_name backfill.
        "BACKFILL_BATCH_SIZE": _int_env("BACKFILL_BATCH_SIZE", 50_000),
        "INGEST_MAX_BATCH": _int_env("INGEST_MAX_BATCH", 1000),
        "MAX_CONTENT_LENGTH": _int_env("MAX_CONTENT_LENGTH", 2 * 1024 * 1024),
        # Origins (comma-separated, or "*") whose pages may read the API; empty = same origin only.
        "CORS_ORIGINS": os.environ.get("CORS_ORIGINS", ""),
        "PLAN_LIMITS": plan_limits_from_env(),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": os.environ.get("SESSION_COOKIE_SECURE", "").lower() in {"1", "true", "yes"},
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(database_url),
    }
