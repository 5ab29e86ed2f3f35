"""Provider-aware billing portal.

``create_app`` imports Flask lazily so that ``portal.providers`` (the detector)
and ``portal.usage.attribution`` stay importable without Flask: the migrations
and scripts use them directly.
"""

from __future__ import annotations

from typing import Any, Mapping


def create_app(config: Mapping[str, Any] | None = None):
    """Build and configure a Flask application (the flaskr-style factory)."""
    from portal.app import build_app

    return build_app(config)
