"""Who actually served and billed an AI API call: the shared provider detector.

Pure Python (standard library only), so the app, the CLI and the migrations all
call the same engine. The rules live in ``catalogue.toml``; ``detector.py``
explains the evidence order and ``catalogue.py`` the file format and how a
deployment's own catalogue extends the bundled one.

    >>> detect_actual_provider(APIProvider.GEMINI, "gemini-2.5-flash")
    'google'
"""

from __future__ import annotations

from typing import Any

from .catalogue import Catalogue, CatalogueError, Family, Provider, RouteRule, load_catalogue
from .categories import CATEGORY_VALUES, APIProvider
from .detector import Attribution, Detector, default_detector, detector_for

__all__ = [
    "APIProvider",
    "CATEGORY_VALUES",
    "Attribution",
    "Catalogue",
    "CatalogueError",
    "Detector",
    "Family",
    "Provider",
    "RouteRule",
    "default_detector",
    "detect_actual_provider",
    "detector_for",
    "display_name",
    "explain",
    "load_catalogue",
    "provider_display",
]


def detect_actual_provider(provider_enum: Any = None, model_name: Any = None, endpoint: Any = None) -> str | None:
    """Canonical slug of whoever served and invoiced the call, or None (bundled catalogue)."""
    return default_detector().detect(provider_enum, model_name, endpoint)


def explain(provider_enum: Any = None, model_name: Any = None, endpoint: Any = None) -> Attribution:
    """The slug plus which evidence decided and why (bundled catalogue)."""
    return default_detector().explain(provider_enum, model_name, endpoint)


def display_name(slug: str | None) -> str | None:
    """Proper name for a slug ("HuggingFace"); unknown slugs come back unchanged; None stays None."""
    return default_detector().display_name(slug)


def provider_display(actual_slug: str | None, category: Any) -> str:
    """Label for a stored row: the actual provider's name, else the category's fallback."""
    return default_detector().provider_display(actual_slug, category)
