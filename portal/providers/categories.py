"""The coarse usage categories that calling products log (the ``provider`` column).

This enum is what existing databases store and what plan limits are counted in.
It is *not* who served the call: that is the detector's answer
(``actual_provider_name``). Pure Python so the detector, the models and the
migrations can all share it.
"""

from __future__ import annotations

import enum


class APIProvider(str, enum.Enum):
    """Category a calling product logged for an API call."""

    GEMINI = "gemini"
    OPENAI = "openai"
    ANTHROPIC = "anthropic"
    # Historically, Hugging Face calls were logged under "mistral".
    MISTRAL = "mistral"
    WAVESPEED = "wavespeed"
    TAVILY = "tavily"
    SERPER = "serper"
    METAPHOR = "metaphor"
    FIRECRAWL = "firecrawl"
    STABILITY = "stability"
    EXA = "exa"
    VIDEO = "video"
    IMAGE_EDIT = "image_edit"
    AUDIO = "audio"

    @classmethod
    def coerce(cls, value: object) -> "APIProvider | None":
        """Return the member for an enum member or its value in any case; None if unknown."""
        if isinstance(value, cls):
            return value
        if isinstance(value, enum.Enum):
            value = value.value
        if not isinstance(value, str):
            return None
        try:
            return cls(value.strip().lower())
        except ValueError:
            return None


CATEGORY_VALUES: tuple[str, ...] = tuple(member.value for member in APIProvider)
