"""Usage logs: validation, recording, attribution and list queries.

``record_usage`` is imported lazily: ``portal.usage.attribution`` must stay
importable by migrations without pulling in Flask or the models.
"""

from __future__ import annotations

from typing import Any

__all__ = ["record_usage"]


def __getattr__(name: str) -> Any:
    """Resolve ``portal.usage.record_usage`` on first use."""
    if name == "record_usage":
        from portal.usage.recording import record_usage

        return record_usage
    raise AttributeError(name)
