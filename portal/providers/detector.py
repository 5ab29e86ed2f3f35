"""The provider detector: who actually served and invoiced an API call.

A small engine over the catalogue (``catalogue.toml``); the knowledge is data.
Evidence, strongest first; the first kind that gives an answer decides:

1. **Endpoint** (evidence ``"endpoint"``).
   a. The host of a URL, ``//host/...`` or a scheme-less ``api.groq.com/openai/v1``,
      matched whole-label against the providers' host patterns (rule ``endpoint-host``).
   b. For one of the app's own route paths (no host), a whole path segment that
      is a provider slug or alias, read left to right: ``/video-generation/wavespeed``,
      ``/llm/hf/chat`` (rule ``endpoint-path``). Only slugs and aliases are looked
      up, so generic words (``api``, ``v1``, ``chat``, ``video-generation``) name
      nothing. The path of a URL whose host is unknown is not read: behind a
      proxy it misleads (Azure's ``/openai/deployments/...`` layout served via
      ``*.azure-api.net`` would read as OpenAI).
2. **An explicit route inside the model id** (evidence ``"model"``).
   a. A gateway prefix, the first ``/`` segment: ``groq/...``, ``openrouter/openai/gpt-4o``
      (rule ``gateway-prefix``), unless the id ends in a router's own ``:variant``
      suffix, which is the more explicit route (``deepseek/deepseek-chat:free`` is OpenRouter).
   b. The catalogue's ``[[routes]]`` in order: Bedrock ids, Vertex ``@version``,
      resource names, Hugging Face router suffixes, OpenRouter variants (the
      route's own rule id, e.g. ``bedrock-id``, ``hf-router-suffix``).
3. **The model family** (evidence ``"model"``): the most specific family pattern
   over the whole id (rule ``family``). An open-weight family (no provider)
   gives no answer. An ``org/model`` id whose org is a model maker is not a
   route: it is attributed only when the rest of the id belongs to a family
   exclusive to that maker's API (rule ``maker-exclusive-family``).
4. **The category default** (evidence ``"category"``, rule ``category-default``);
   the reason says it is a guess from the category alone. With no answer at
   all the slug is None (rule ``none``).

Inputs are normalised before anything else: an enum gives its value, any other
non-str is None, then whitespace is stripped and case folded. Results are
cached per Detector on the normalised triple.
"""

from __future__ import annotations

import enum
import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from .catalogue import (
    Catalogue,
    CatalogueError,
    Family,
    RouteRule,
    canonical,
    glob_regex,
    glob_specificity,
    host_regex,
    is_wildcard_host,
    load_catalogue,
)

# Real model ids stay under ~120 characters; past this a "model id" is junk,
# and ignoring it keeps regex work bounded for 10 kB inputs.
MAX_MODEL_ID_CHARS = 256
MAX_HOST_CHARS = 253  # the DNS limit
DEFAULT_CACHE_SIZE = 65536
_MAX_CACHED_CHARS = 1024  # longer inputs bypass the cache so junk cannot bloat it

_SCHEME = re.compile(r"[a-z][a-z0-9+.-]*")
# "api.groq.com" or "api.groq.com:443" without a scheme; the last label must start
# with a letter, so "gpt-4.1/chat" or "wan-2.5/t2v" stay paths.
_HOST_LIKE = re.compile(r"[a-z0-9_-]+(?:\.[a-z0-9_-]+)*\.[a-z][a-z0-9-]*\.?(?::[0-9]*)?")

T = TypeVar("T")


@dataclass(frozen=True)
class Attribution:
    """The detector's answer and why: which evidence decided, by which rule."""

    slug: str | None
    evidence: str | None  # "endpoint", "model", "category", or None
    rule: str
    reason: str
    display_name: str | None


def normalise(value: object) -> str | None:
    """The cache/matching form of one input: enum value, stripped, case folded; else None."""
    if isinstance(value, enum.Enum):
        value = value.value
    if not isinstance(value, str):
        return None
    return canonical(value) or None


def split_endpoint(endpoint: str) -> tuple[str | None, str]:
    """(host or None, path without query) of a URL, a scheme-less host/path, or a route path."""
    scheme, separator, rest = endpoint.partition("://")
    if separator and _SCHEME.fullmatch(scheme):
        location = rest
    elif endpoint.startswith("//"):
        location = endpoint[2:]
    elif _HOST_LIKE.fullmatch(endpoint.partition("/")[0]):
        location = endpoint
    else:
        return None, _without_query(endpoint)
    cut = min((i for i in map(location.find, "/?#") if i >= 0), default=len(location))
    host = location[:cut].rpartition("@")[2]  # drop user:password@
    host = "" if host.startswith("[") else host.partition(":")[0].rstrip(".")  # IPv6 literals name no provider
    return host or None, _without_query(location[cut:])


def _without_query(path: str) -> str:
    """A path without its ?query and #fragment."""
    return path.partition("?")[0].partition("#")[0]


def _show(text: str) -> str:
    """A quoted, bounded rendering of an input for a reason sentence."""
    return repr(text if len(text) <= 80 else text[:77] + "...")


def _alternation(tag: str, alternatives: list[tuple[str, T]]) -> tuple[re.Pattern[str] | None, dict[str, T]]:
    """One compiled regex trying ``alternatives`` in order; the named group tells which matched."""
    if not alternatives:
        return None, {}
    source = "|".join(f"(?P<{tag}{index}>{regex})" for index, (regex, _) in enumerate(alternatives))
    return re.compile(source, re.DOTALL), {f"{tag}{index}": value for index, (_, value) in enumerate(alternatives)}


def _route_regex(route: RouteRule) -> str:
    """Regex source for a route: optional prefix, one of the patterns, required :suffix."""
    prefix = f"(?:{'|'.join(map(re.escape, route.optional_prefixes))})?" if route.optional_prefixes else ""
    suffix = f":(?:{'|'.join(map(re.escape, route.suffixes))})" if route.suffixes else ""
    return f"{prefix}(?:{'|'.join(map(glob_regex, route.patterns))}){suffix}"


class Detector:
    """Attributes (category, model, endpoint) triples to provider slugs using one catalogue."""

    def __init__(self, catalogue: Catalogue, cache_size: int = DEFAULT_CACHE_SIZE) -> None:
        """Compile ``catalogue``; ``cache_size`` 0 disables the result cache."""
        self.catalogue = catalogue
        self._display = {slug: provider.display_name for slug, provider in catalogue.providers.items()}
        self._exact_hosts: dict[str, str] = {}
        host_patterns: list[tuple[str, str]] = []
        self._segments: dict[str, str] = {slug: slug for slug in catalogue.providers}
        self._gateways: dict[str, str] = {}
        for slug, provider in catalogue.providers.items():
            for host in provider.hosts:
                if is_wildcard_host(host):
                    host_patterns.append((host_regex(host), slug))
                else:
                    self._exact_hosts[host] = slug
            self._segments.update(dict.fromkeys(provider.aliases, slug))
            self._gateways.update(dict.fromkeys(provider.gateway_prefixes, slug))
        self._host_regex, self._host_slugs = _alternation("h", host_patterns)
        self._route_regex, self._routes = _alternation("r", [(_route_regex(r), r) for r in catalogue.routes])
        # Most specific first; sort is stable, so on ties catalogue order (deployment first) wins.
        ranked = sorted(
            ((family, pattern) for family in catalogue.families for pattern in family.patterns),
            key=lambda entry: glob_specificity(entry[1]),
            reverse=True,
        )
        self._family_regex, self._families = _alternation("f", [(glob_regex(p), (f, p)) for f, p in ranked])
        self._maker_orgs = catalogue.maker_orgs
        self._categories = dict(catalogue.category_defaults)
        self._slugs = frozenset(catalogue.providers)
        # lru_cache per instance, around the method that takes normalised inputs.
        self._attribute_cached = (
            functools.lru_cache(maxsize=cache_size)(self._attribute) if cache_size > 0 else self._attribute
        )

    # --- public API ------------------------------------------------------------------

    @property
    def slugs(self) -> frozenset[str]:
        """Every provider slug in the catalogue."""
        return self._slugs

    def explain(self, provider_enum: Any = None, model_name: Any = None, endpoint: Any = None) -> Attribution:
        """The provider slug plus which evidence decided and why. Never raises."""
        category, model, url = normalise(provider_enum), normalise(model_name), normalise(endpoint)
        if len(category or "") + len(model or "") + len(url or "") > _MAX_CACHED_CHARS:
            return self._attribute(category, model, url)
        return self._attribute_cached(category, model, url)

    def detect(self, provider_enum: Any = None, model_name: Any = None, endpoint: Any = None) -> str | None:
        """The canonical slug of who served and billed the call, or None without evidence."""
        return self.explain(provider_enum, model_name, endpoint).slug

    def explain_uncached(self, provider_enum: Any = None, model_name: Any = None, endpoint: Any = None) -> Attribution:
        """``explain`` without the cache (for benchmarks and cache tests)."""
        return self._attribute(normalise(provider_enum), normalise(model_name), normalise(endpoint))

    def detect_uncached(self, provider_enum: Any = None, model_name: Any = None, endpoint: Any = None) -> str | None:
        """``detect`` without the cache."""
        return self.explain_uncached(provider_enum, model_name, endpoint).slug

    def cache_info(self) -> Any:
        """functools cache statistics, or None when caching is off."""
        info = getattr(self._attribute_cached, "cache_info", None)
        return info() if info else None

    def display_name(self, slug: str | None) -> str | None:
        """Proper name for a slug ("WaveSpeed"); an unknown slug comes back unchanged."""
        if not isinstance(slug, str):
            return None
        return self._display.get(slug.strip().lower(), slug)

    def provider_display(self, slug: str | None, category: Any) -> str:
        """Label for a stored row: the actual provider's name, else a fallback from the category.

        The fallback is the display name of the category's default provider, or
        the category humanised ("image_edit" -> "Image edit") when it has none,
        or "Unknown". Never raises.
        """
        if isinstance(slug, str) and slug.strip():
            return self.display_name(slug) or slug
        category_value = normalise(category)
        if category_value is None:
            return "Unknown"
        default = self._categories.get(category_value)
        if default is not None:
            return self._display[default]
        return category_value.replace("_", " ").capitalize()

    # --- the engine ------------------------------------------------------------------

    def _answer(self, slug: str, evidence: str, rule: str, reason: str) -> Attribution:
        """An attribution to ``slug``."""
        return Attribution(slug, evidence, rule, reason, self._display[slug])

    def _attribute(self, category: str | None, model: str | None, endpoint: str | None) -> Attribution:
        """Apply the evidence order to normalised inputs."""
        notes: list[str] = []
        for source, step in ((endpoint, self._from_endpoint), (model, self._from_model)):
            if source is not None:
                found, note = step(source)
                if found is not None:
                    return found
                notes.append(note)
        return self._from_category(category, notes)

    def _host_owner(self, host: str) -> str | None:
        """The provider whose API host pattern matches ``host`` (exact hosts first), or None."""
        if len(host) > MAX_HOST_CHARS:
            return None
        slug = self._exact_hosts.get(host)
        if slug is None and self._host_regex is not None:
            match = self._host_regex.fullmatch(host)
            slug = self._host_slugs[match.lastgroup] if match and match.lastgroup else None
        return slug

    def _from_endpoint(self, endpoint: str) -> tuple[Attribution | None, str]:
        """A URL's host, or a route path's whole segments; or a note saying why nothing matched."""
        host, path = split_endpoint(endpoint)
        if host is not None:
            slug = self._host_owner(host)
            if slug is not None:
                name = self._display[slug]
                return self._answer(slug, "endpoint", "endpoint-host", f"Endpoint host {host} belongs to {name}."), ""
            return None, f"endpoint host {_show(host)} is not a known provider API host"
        for segment in path.split("/"):
            slug = self._segments.get(segment)
            if slug is not None:
                reason = f"Endpoint path segment '{segment}' names {self._display[slug]}."
                return self._answer(slug, "endpoint", "endpoint-path", reason), ""
        return None, f"endpoint {_show(endpoint)} names no provider"

    def _best_family(self, model: str) -> tuple[Family, str] | None:
        """The most specific (family, pattern) matching the whole of ``model``."""
        match = self._family_regex.fullmatch(model) if self._family_regex is not None else None
        return self._families[match.lastgroup] if match and match.lastgroup else None

    def _from_model(self, model: str) -> tuple[Attribution | None, str]:
        """Gateway prefix, routes, family, maker-exclusive family; or a note."""
        if len(model) > MAX_MODEL_ID_CHARS:
            return None, f"the model id is {len(model):,} characters, longer than any real one"
        org, slash, rest = model.partition("/")
        match = self._route_regex.fullmatch(model) if self._route_regex is not None else None
        route = self._routes[match.lastgroup] if match and match.lastgroup else None
        # A router's ':variant' suffix (':free', ':groq') only exists on that router, so it
        # outranks a leading segment that may be a gateway prefix or just the model's org
        # ('deepseek/deepseek-chat:free' is an OpenRouter id, not LiteLLM's 'deepseek/').
        if slash and org in self._gateways and not (route and route.suffixes):
            slug = self._gateways[org]
            reason = f"Model id prefix '{org}/' routes the call through {self._display[slug]}."
            return self._answer(slug, "model", "gateway-prefix", reason), ""
        if route is not None:
            reason = f"Model id {_show(model)} is {route.description}, so the provider is {self._display[route.provider]}."
            return self._answer(route.provider, "model", route.rule, reason), ""
        best = self._best_family(model)
        if best is not None:
            family, pattern = best
            if family.provider is None:
                return None, f"model {_show(model)} is in the {family.name} family ('{pattern}'), which many hosts serve"
            reason = f"Model {_show(model)} matches the {family.name} family ('{pattern}'), served by {self._display[family.provider]}."
            return self._answer(family.provider, "model", "family", reason), ""
        if slash and org in self._maker_orgs:
            best = self._best_family(rest)
            family, pattern = best if best is not None else (None, "")
            if family is not None and family.provider is not None and family.exclusive and org in family.makers:
                reason = (f"Model {_show(model)} names the model maker '{org}', and the {family.name} family "
                          f"('{pattern}') is served only by {self._display[family.provider]}'s own API.")
                return self._answer(family.provider, "model", "maker-exclusive-family", reason), ""
            return None, (f"model {_show(model)} names the model maker '{org}', which is not a route, "
                          f"and {_show(rest)} is not served only by that maker's API")
        return None, f"model {_show(model)} matches no rule"

    def _from_category(self, category: str | None, notes: list[str]) -> Attribution:
        """The category default (a guess, and the reason says so), or no answer."""
        context = "No endpoint or model evidence" + (f" ({'; '.join(notes)})" if notes else "")
        if category is None:
            return Attribution(None, None, "none", f"{context} and no category: the provider is unknown.", None)
        if category not in self._categories:
            reason = f"{context}; {_show(category)} is not a known category: the provider is unknown."
            return Attribution(None, None, "none", reason, None)
        slug = self._categories[category]
        if slug is None:
            reason = f"{context}; category '{category}' has no default provider: the provider is unknown."
            return Attribution(None, None, "none", reason, None)
        reason = f"{context}; category '{category}' defaults to {self._display[slug]} (a guess from the category alone)."
        return self._answer(slug, "category", "category-default", reason)


@functools.cache
def default_detector() -> Detector:
    """The shared detector over the bundled catalogue (built once)."""
    return Detector(load_catalogue())


def detector_for(path: str | Path | None) -> Detector:
    """The detector for a deployment's catalogue file merged over the bundled one.

    None or a blank string gives ``default_detector()``. A file is re-read when
    its modification time or size changes. Raises CatalogueError for a missing
    or invalid file (so the app fails at start-up).
    """
    if path is None or (isinstance(path, str) and not path.strip()):
        return default_detector()
    resolved = Path(path).expanduser().resolve()
    try:
        stat = resolved.stat()
    except OSError as error:
        raise CatalogueError(f"{path}: cannot read the catalogue: {error}") from None
    return _detector_for_file(str(resolved), stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=8)
def _detector_for_file(path: str, mtime_ns: int, size: int) -> Detector:
    """Build (once per file version) the detector for a deployment catalogue."""
    return Detector(load_catalogue(path))
