"""Load and validate the provider catalogue: the detector's knowledge, kept as data.

The bundled ``catalogue.toml`` (next to this module) documents its own syntax in
its header. ``load_catalogue()`` reads it; ``load_catalogue(path)`` reads a
deployment's file and merges it over the bundled one ("extends"), so a
deployment can add a provider or override one family or category default
without copying the whole file. The merge rule:

* ``maker_orgs``: the union of both lists.
* ``[providers.SLUG]``: a new slug adds a provider (``display_name`` required).
  For a slug the bundled file declares, every key the deployment sets replaces
  the bundled value wholesale (lists are not concatenated, so a wrong host can
  be removed); keys it leaves out keep their bundled values.
* ``[[routes]]``: an entry whose ``rule`` id equals a bundled rule replaces that
  rule in place; entries with new ids are tried before all bundled rules.
* ``[[families]]``: deployment families are added, and every pattern they list
  is removed from the bundled families (``flux-*`` can move from WaveSpeed to
  fal.ai alone). On equal specificity a deployment family wins.
* ``[categories]``: key by key; ``""`` removes a default.

Structure (keys, types, pattern syntax) is checked per file; cross references
(slugs named by routes, families and categories, collisions between hosts,
aliases and prefixes) on the merged result. Every problem raises
``CatalogueError`` naming the file and the entry, e.g.
``catalogue.toml: providers.groq.hosts[1]: '' is not a host name``.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Callable, Mapping, NoReturn

from .categories import CATEGORY_VALUES

BUNDLED_NAME = "catalogue.toml"

_SLUG = re.compile(r"[a-z0-9][a-z0-9_-]*")
_TOKEN = re.compile(r"[a-z0-9][a-z0-9._:-]*")  # aliases, prefixes, suffixes, org names
_RULE_ID = re.compile(r"[a-z0-9][a-z0-9-]*")
_LITERAL_LABEL = re.compile(r"[a-z0-9_-]+")
# A cloud region label: us-central1, europe-west4, us-east-1, us-gov-west-1, ap-southeast-2.
REGION_REGEX = r"[a-z]+(?:-[a-z]+)*-?[0-9]+"
_DNS_LABEL = r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?"


class CatalogueError(ValueError):
    """An invalid catalogue file; the message names the file and the bad entry."""


@dataclass(frozen=True)
class Provider:
    """One company that serves and invoices API calls."""

    slug: str
    display_name: str
    hosts: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    gateway_prefixes: tuple[str, ...] = ()


@dataclass(frozen=True)
class RouteRule:
    """An explicit route written inside a model id (Bedrock ids, router suffixes, ...)."""

    rule: str
    provider: str
    description: str
    patterns: tuple[str, ...]
    optional_prefixes: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Family:
    """A model family; ``provider`` None means open weights (the id alone decides nothing)."""

    name: str
    provider: str | None
    patterns: tuple[str, ...]
    makers: tuple[str, ...] = ()
    exclusive: bool = False


@dataclass(frozen=True)
class Catalogue:
    """The validated, merged catalogue the detector compiles."""

    providers: Mapping[str, Provider]
    routes: tuple[RouteRule, ...]
    families: tuple[Family, ...]
    category_defaults: Mapping[str, str | None]
    maker_orgs: frozenset[str]
    sources: tuple[str, ...] = field(default=())


# --- pattern syntax (shared with the engine, which compiles the same way) -----------

def canonical(text: str) -> str:
    """Whitespace-stripped, case-folded form; upper() first so x and x.upper() agree."""
    return text.strip().upper().lower()


def glob_regex(pattern: str) -> str:
    """Regex source for a model glob: ``*`` is any run of characters."""
    return ".*".join(re.escape(part) for part in pattern.split("*"))


def glob_specificity(pattern: str) -> tuple[bool, int]:
    """Sort key part: exact ids first, then the more literal characters the better."""
    return ("*" not in pattern, len(pattern.replace("*", "")))


def is_wildcard_host(pattern: str) -> bool:
    """Whether a host pattern needs a regex rather than an exact lookup."""
    return "*" in pattern or "<region>" in pattern


def host_regex(pattern: str) -> str:
    """Regex source for a host pattern (whole labels; see the TOML header)."""
    parts = []
    for label in pattern.split("."):
        if label == "**":
            parts.append(rf"{_DNS_LABEL}(?:\.{_DNS_LABEL})*")
        elif label == "*":
            parts.append(_DNS_LABEL)
        else:
            parts.append(REGION_REGEX.join(re.escape(piece) for piece in label.split("<region>")))
    return r"\.".join(parts)


def _host_problem(pattern: str) -> str | None:
    """Why a host pattern is invalid, or None."""
    labels = pattern.split(".")
    if not pattern or len(labels) < 2 or "" in labels:
        return f"{pattern!r} is not a host name"
    for position, label in enumerate(labels):
        if label == "**" and position > 0:
            return f"{pattern!r}: '**' may only be the first label"
        if label in ("*", "**"):
            continue
        core = label.replace("<region>", "")
        if core and not _LITERAL_LABEL.fullmatch(core) or label.count("<region>") > 1:
            return f"{pattern!r} is not a host name (labels are a-z, 0-9, '-', or '*', '**', '<region>')"
    if any(is_wildcard_host(label) for label in labels[-2:]):
        return f"{pattern!r}: the last two labels must be literal"
    return None


def _glob_problem(pattern: str) -> str | None:
    """Why a model glob is invalid, or None."""
    if not pattern:
        return "'' is an empty pattern"
    if pattern != canonical(pattern) or any(char.isspace() for char in pattern):
        return f"{pattern!r} must be lower case without spaces"
    if not pattern.replace("*", ""):
        return f"{pattern!r} would match every model id"
    return None


def _token_problem(token: str) -> str | None:
    """Why an alias, prefix, suffix or org name is invalid, or None."""
    if not _TOKEN.fullmatch(token):
        return f"{token!r} is not a lower-case name (a-z, 0-9, '.', '_', ':', '-')"
    return None


# --- reading one file ----------------------------------------------------------------

class _Reader:
    """Typed access to one parsed file; every failure names the file and the entry."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, problem: str) -> NoReturn:
        """Raise the error for one entry of this file."""
        raise CatalogueError(f"{self.source}: {where}: {problem}")

    def table(self, value: Any, where: str, allowed: set[str]) -> dict[str, Any]:
        """A table with only ``allowed`` keys."""
        if not isinstance(value, dict):
            self.fail(where, "must be a table")
        for key in value:
            if key not in allowed:
                self.fail(f"{where}.{key}" if where else key, f"unknown key (allowed: {', '.join(sorted(allowed))})")
        return value

    def text(self, value: Any, where: str) -> str:
        """A non-empty string."""
        if not isinstance(value, str) or not value.strip():
            self.fail(where, f"{value!r} must be a non-empty string")
        return value

    def names(self, value: Any, where: str, problem: Callable[[str], str | None]) -> tuple[str, ...]:
        """A list of strings, each checked by ``problem``."""
        if not isinstance(value, list):
            self.fail(where, "must be a list of strings")
        for index, item in enumerate(value):
            if not isinstance(item, str):
                self.fail(f"{where}[{index}]", f"{item!r} must be a string")
            issue = problem(item)
            if issue:
                self.fail(f"{where}[{index}]", issue)
        return tuple(value)

    def patterns(self, value: Any, where: str) -> tuple[str, ...]:
        """A non-empty list of model globs."""
        globs = self.names(value, where, _glob_problem)
        if not globs:
            self.fail(where, "must list at least one pattern")
        return globs


_PROVIDER_KEYS = {"display_name", "hosts", "aliases", "gateway_prefixes"}
_ROUTE_KEYS = {"rule", "provider", "description", "patterns", "optional_prefixes", "suffixes"}
_FAMILY_KEYS = {"name", "provider", "patterns", "makers", "exclusive"}


@dataclass
class _FileData:
    """One file's entries, each with the place it came from (for error messages)."""

    reader: _Reader
    maker_orgs: tuple[str, ...] = ()
    providers: dict[str, dict[str, Any]] = field(default_factory=dict)
    routes: list[tuple[RouteRule, str]] = field(default_factory=list)
    families: list[tuple[Family, str]] = field(default_factory=list)
    categories: dict[str, str | None] = field(default_factory=dict)


def _read_file(document: dict[str, Any], source: str) -> _FileData:
    """Check the structure of one parsed file and return its typed entries."""
    reader = _Reader(source)
    reader.table(document, "", {"version", "maker_orgs", "providers", "routes", "families", "categories"})
    if document.get("version", 1) != 1:
        reader.fail("version", f"{document['version']!r} is not a supported version (1)")
    data = _FileData(reader, reader.names(document.get("maker_orgs", []), "maker_orgs", _token_problem))

    provider_tables = document.get("providers", {})
    if not isinstance(provider_tables, dict):
        reader.fail("providers", "must be a table of [providers.SLUG] tables")
    for slug, entry in provider_tables.items():
        where = f"providers.{slug}"
        if not _SLUG.fullmatch(slug):
            reader.fail(where, f"{slug!r} is not a slug (lower case a-z, 0-9, '_', '-')")
        entry = reader.table(entry, where, _PROVIDER_KEYS)
        fields: dict[str, Any] = {}
        if "display_name" in entry:
            fields["display_name"] = reader.text(entry["display_name"], f"{where}.display_name").strip()
        if "hosts" in entry:
            fields["hosts"] = reader.names(entry["hosts"], f"{where}.hosts", _host_problem)
        for key in ("aliases", "gateway_prefixes"):
            if key in entry:
                fields[key] = reader.names(entry[key], f"{where}.{key}", _token_problem)
        data.providers[slug] = fields

    routes = document.get("routes", [])
    if not isinstance(routes, list):
        reader.fail("routes", "must be an array of tables ([[routes]])")
    seen_rules: dict[str, int] = {}
    for index, entry in enumerate(routes):
        where = f"routes[{index}]"
        entry = reader.table(entry, where, _ROUTE_KEYS)
        for required in ("rule", "provider", "description", "patterns"):
            if required not in entry:
                reader.fail(f"{where}.{required}", "is required")
        rule_id = reader.text(entry["rule"], f"{where}.rule")
        if not _RULE_ID.fullmatch(rule_id):
            reader.fail(f"{where}.rule", f"{rule_id!r} is not a rule id (a-z, 0-9, '-')")
        if rule_id in seen_rules:
            reader.fail(f"{where}.rule", f"{rule_id!r} is already used by routes[{seen_rules[rule_id]}]")
        seen_rules[rule_id] = index
        route = RouteRule(
            rule=rule_id,
            provider=reader.text(entry["provider"], f"{where}.provider"),
            description=reader.text(entry["description"], f"{where}.description").strip(),
            patterns=reader.patterns(entry["patterns"], f"{where}.patterns"),
            optional_prefixes=reader.names(entry.get("optional_prefixes", []), f"{where}.optional_prefixes", _token_problem),
            suffixes=reader.names(entry.get("suffixes", []), f"{where}.suffixes", _token_problem),
        )
        data.routes.append((route, where))

    families = document.get("families", [])
    if not isinstance(families, list):
        reader.fail("families", "must be an array of tables ([[families]])")
    seen_patterns: dict[str, str] = {}
    for index, entry in enumerate(families):
        where = f"families[{index}]"
        entry = reader.table(entry, where, _FAMILY_KEYS)
        for required in ("name", "patterns"):
            if required not in entry:
                reader.fail(f"{where}.{required}", "is required")
        provider = reader.text(entry["provider"], f"{where}.provider") if "provider" in entry else None
        exclusive = entry.get("exclusive", False)
        if not isinstance(exclusive, bool):
            reader.fail(f"{where}.exclusive", f"{exclusive!r} must be true or false")
        if exclusive and provider is None:
            reader.fail(f"{where}.exclusive", "an exclusive family needs a provider")
        family = Family(
            name=reader.text(entry["name"], f"{where}.name").strip(),
            provider=provider,
            patterns=reader.patterns(entry["patterns"], f"{where}.patterns"),
            makers=reader.names(entry.get("makers", []), f"{where}.makers", _token_problem),
            exclusive=exclusive,
        )
        for position, pattern in enumerate(family.patterns):
            if pattern in seen_patterns:
                reader.fail(f"{where}.patterns[{position}]", f"{pattern!r} is already listed in {seen_patterns[pattern]}")
            seen_patterns[pattern] = where
        data.families.append((family, where))

    categories = reader.table(document.get("categories", {}), "categories", set(CATEGORY_VALUES))
    for category, slug in categories.items():
        if not isinstance(slug, str):
            reader.fail(f"categories.{category}", f"{slug!r} must be a provider slug or \"\"")
        data.categories[category] = slug.strip() or None
    return data


# --- merging and cross-checks ----------------------------------------------------------

def _merge(files: list[_FileData]) -> Catalogue:
    """Merge files in order (later ones extend earlier ones) and check cross references."""
    maker_orgs: set[str] = set()
    providers: dict[str, dict[str, Any]] = {}
    origin: dict[tuple[str, str], _Reader] = {}  # (slug, key) -> the file that set it
    routes: list[tuple[RouteRule, _Reader, str]] = []
    families: list[tuple[Family, _Reader, str]] = []
    categories: dict[str, tuple[str | None, _Reader]] = {}

    for data in files:
        maker_orgs.update(data.maker_orgs)
        for slug, fields in data.providers.items():
            if slug not in providers and "display_name" not in fields:
                data.reader.fail(f"providers.{slug}.display_name", "is required for a new provider")
            providers.setdefault(slug, {}).update(fields)
            origin.update({(slug, key): data.reader for key in fields})
        known_rules = {route.rule: position for position, (route, _, _) in enumerate(routes)}
        new_routes = []
        for route, where in data.routes:
            if route.rule in known_rules:
                routes[known_rules[route.rule]] = (route, data.reader, where)
            else:
                new_routes.append((route, data.reader, where))
        routes[:0] = new_routes
        overridden = {pattern for family, _ in data.families for pattern in family.patterns}
        kept = []
        for family, reader, where in families:
            remaining = tuple(p for p in family.patterns if p not in overridden)
            if remaining:
                kept.append((Family(family.name, family.provider, remaining, family.makers, family.exclusive), reader, where))
        families = [(family, data.reader, where) for family, where in data.families] + kept
        categories.update({category: (slug, data.reader) for category, slug in data.categories.items()})

    # Namespaces that must not collide: hosts, path words, gateway prefixes.
    host_owner: dict[str, str] = {}
    word_owner: dict[str, str] = {slug: slug for slug in providers}
    prefix_owner: dict[str, str] = {}
    for slug, fields in providers.items():
        for key, owner in (("hosts", host_owner), ("aliases", word_owner), ("gateway_prefixes", prefix_owner)):
            for index, value in enumerate(fields.get(key, ())):
                reader = origin[(slug, key)]
                if owner.get(value, slug) != slug:
                    reader.fail(f"providers.{slug}.{key}[{index}]", f"{value!r} already belongs to providers.{owner[value]}")
                if key == "gateway_prefixes" and value in maker_orgs:
                    reader.fail(f"providers.{slug}.{key}[{index}]", f"{value!r} is also a maker org; an org/model id cannot be both")
                owner[value] = slug

    def check_slug(slug: str | None, reader: _Reader, where: str) -> None:
        """Fail unless ``slug`` is a declared provider."""
        if slug is not None and slug not in providers:
            reader.fail(where, f"{slug!r} is not a declared provider (add [providers.{slug}])")

    for route, reader, where in routes:
        check_slug(route.provider, reader, f"{where}.provider")
    for family, reader, where in families:
        check_slug(family.provider, reader, f"{where}.provider")
        for index, maker in enumerate(family.makers):
            if maker not in maker_orgs:
                reader.fail(f"{where}.makers[{index}]", f"{maker!r} is not listed in maker_orgs")
    for category, (slug, reader) in categories.items():
        check_slug(slug, reader, f"categories.{category}")

    return Catalogue(
        providers=MappingProxyType({
            slug: Provider(slug, fields["display_name"], fields.get("hosts", ()), fields.get("aliases", ()),
                           fields.get("gateway_prefixes", ()))
            for slug, fields in providers.items()
        }),
        routes=tuple(route for route, _, _ in routes),
        families=tuple(family for family, _, _ in families),
        category_defaults=MappingProxyType({c: categories[c][0] if c in categories else None for c in CATEGORY_VALUES}),
        maker_orgs=frozenset(maker_orgs),
        sources=tuple(data.reader.source for data in files),
    )


def _parse(text: str, source: str) -> _FileData:
    """Parse TOML text into checked entries."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise CatalogueError(f"{source}: not valid TOML: {error}") from None
    return _read_file(document, source)


def _bundled() -> _FileData:
    """The catalogue shipped inside the package."""
    text = resources.files(__package__).joinpath(BUNDLED_NAME).read_text(encoding="utf-8")
    return _parse(text, BUNDLED_NAME)


def load_catalogue(path: str | Path | None = None, *, extend_bundled: bool = True) -> Catalogue:
    """Load the bundled catalogue, or a deployment file merged over it.

    ``path`` None gives the bundled catalogue. Otherwise the file at ``path`` is
    merged over the bundled one (see the module docstring), or read on its own
    when ``extend_bundled`` is False. Raises CatalogueError naming the file and
    the entry for any problem, including an unreadable file.
    """
    if path is None:
        return _merge([_bundled()])
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CatalogueError(f"{source}: cannot read the catalogue: {error}") from None
    deployment = _parse(text, source)
    return _merge([_bundled(), deployment] if extend_bundled else [deployment])
