"""The catalogue file: bundled contents, deployment overrides (extends), and validation errors."""

from __future__ import annotations

import os
import textwrap

import pytest

from portal.providers import (
    APIProvider,
    CatalogueError,
    Detector,
    default_detector,
    detector_for,
    load_catalogue,
)
from portal.providers.categories import CATEGORY_VALUES


def write(tmp_path, text: str, name: str = "deploy.toml"):
    """Write a deployment catalogue and return its path."""
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


# --- the bundled catalogue -------------------------------------------------------------------

def test_bundled_catalogue_loads_and_covers_every_category():
    catalogue = load_catalogue()
    assert catalogue.sources == ("catalogue.toml",)
    assert set(catalogue.category_defaults) == set(CATEGORY_VALUES)
    assert len(catalogue.providers) >= 29


def test_default_detector_is_a_singleton():
    assert default_detector() is default_detector()
    assert detector_for(None) is default_detector()
    assert detector_for("  ") is default_detector()


# --- a deployment file extends the bundled one ------------------------------------------------

OVERRIDE = """
    maker_orgs = ["acme-research"]

    [providers.acme]
    display_name = "Acme Inference"
    hosts = ["api.acme.test", "*.eu.acme.test"]
    aliases = ["acme-ai"]
    gateway_prefixes = ["acme"]

    [providers.groq]
    hosts = ["api.groq.example"]

    [[families]]
    name = "FLUX via fal.ai"
    provider = "fal"
    patterns = ["flux-*"]

    [[families]]
    name = "Acme Rocket"
    provider = "acme"
    makers = ["acme-research"]
    exclusive = true
    patterns = ["rocket-*"]

    [categories]
    video = "fal"
    image_edit = ""
"""


def test_deployment_file_adds_a_provider_and_overrides_a_family_and_a_category(tmp_path):
    detector = detector_for(write(tmp_path, OVERRIDE))
    # The new provider, by host, wildcard host, path alias, gateway prefix, family and maker org.
    assert detector.detect(None, None, "https://api.acme.test/v1/chat") == "acme"
    assert detector.detect(None, None, "https://fra1.eu.acme.test/v1") == "acme"
    assert detector.detect(None, None, "/llm/acme-ai/chat") == "acme"
    assert detector.detect(None, "acme/llama-3.1-8b") == "acme"
    assert detector.detect(None, "rocket-2") == "acme"
    assert detector.detect(None, "acme-research/rocket-2") == "acme"
    assert detector.display_name("acme") == "Acme Inference"
    # The overridden family and category default.
    assert detector.detect(APIProvider.VIDEO, "flux-dev") == "fal"
    assert detector.detect(APIProvider.VIDEO, "unknown-model") == "fal"
    assert detector.detect(APIProvider.IMAGE_EDIT, "unknown-model") is None
    assert detector.provider_display(None, "image_edit") == "Image edit"
    assert detector.provider_display(None, "video") == "fal.ai"
    # A provider key replaces the bundled list wholesale; other keys stay.
    assert detector.detect(None, None, "https://api.groq.example/openai/v1") == "groq"
    assert detector.detect(None, None, "https://api.groq.com/openai/v1") is None
    assert detector.display_name("groq") == "Groq"
    assert detector.detect(None, "groq/llama-3.1-8b-instant") == "groq"
    # Everything else keeps its bundled rule.
    assert detector.detect(None, "flux-kontext-pro") == "fal"
    assert detector.detect(None, "qwen-image") == "wavespeed"
    assert detector.detect(APIProvider.GEMINI, "gemini-2.5-flash") == "google"
    assert detector.detect(APIProvider.MISTRAL, "openai/gpt-oss-120b:groq") == "huggingface"
    assert detector.catalogue.sources == ("catalogue.toml", str(tmp_path.resolve() / "deploy.toml"))
    # The bundled default is untouched.
    assert default_detector().detect(APIProvider.VIDEO, "flux-dev") == "wavespeed"
    assert "acme" not in default_detector().slugs


def test_deployment_routes_replace_by_id_or_come_first(tmp_path):
    path = write(tmp_path, """
        [[routes]]
        rule = "openrouter-variant"
        provider = "openrouter"
        description = "an OpenRouter id with the free variant"
        patterns = ["*/*"]
        suffixes = ["free"]

        [[routes]]
        rule = "acme-lab"
        provider = "together"
        description = "a model of the lab's Together AI account"
        patterns = ["lab/*"]
    """)
    detector = detector_for(path)
    assert detector.explain(None, "meta-llama/llama-3.3-70b-instruct:free").rule == "openrouter-variant"
    assert detector.detect(None, "openai/gpt-4o:nitro") == "openai"  # variant no longer listed
    assert detector.explain(None, "lab/claude-3-haiku@2024").rule == "acme-lab"  # before vertex-version


def test_detector_for_rereads_a_changed_file(tmp_path):
    path = write(tmp_path, '[categories]\nvideo = "fal"\n')
    first = detector_for(path)
    assert detector_for(str(path)) is first
    path.write_text('[categories]\nvideo = "replicate"\n', encoding="utf-8")
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    assert detector_for(path).detect("video") == "replicate"


def test_standalone_file_without_the_bundled_catalogue(tmp_path):
    path = write(tmp_path, """
        [providers.acme]
        display_name = "Acme"
        hosts = ["api.acme.test"]

        [categories]
        video = "acme"
    """)
    detector = Detector(load_catalogue(path, extend_bundled=False))
    assert detector.slugs == frozenset({"acme"})
    assert detector.detect("video", "gpt-4o") == "acme"
    assert detector.detect("gemini", "gpt-4o") is None


# --- invalid files fail with a message naming the file and the entry ----------------------------

INVALID = [
    pytest.param("colour = 1\n", "colour: unknown key", id="unknown-top-level-key"),
    pytest.param("version = 2\n", "version: 2 is not a supported version", id="bad-version"),
    pytest.param('[providers.groq]\nhostz = ["api.groq.com"]\n', "providers.groq.hostz: unknown key", id="unknown-provider-key"),
    pytest.param('[providers.groq]\nhosts = ["api.groq.com", ""]\n', "providers.groq.hosts[1]: '' is not a host name", id="empty-host"),
    pytest.param('[providers.xai]\nhosts = ["https://api.x.ai"]\n', "providers.xai.hosts[0]: 'https://api.x.ai' is not a host name", id="host-with-scheme"),
    pytest.param('[providers.xai]\nhosts = ["API.x.ai"]\n', "providers.xai.hosts[0]: 'API.x.ai' is not a host name", id="upper-case-host"),
    pytest.param('[providers.xai]\nhosts = ["*.ai"]\n', "providers.xai.hosts[0]: '*.ai': the last two labels must be literal", id="wildcard-tld"),
    pytest.param('[providers.xai]\nhosts = ["api.**.x.ai"]\n', "providers.xai.hosts[0]: 'api.**.x.ai': '**' may only be the first label", id="double-star-inside"),
    pytest.param('[providers.xai]\nhosts = ["api..x.ai"]\n', "providers.xai.hosts[0]: 'api..x.ai' is not a host name", id="empty-label"),
    pytest.param('[providers.xai]\nhosts = "api.x.ai"\n', "providers.xai.hosts: must be a list of strings", id="hosts-not-a-list"),
    pytest.param('[providers.Acme]\ndisplay_name = "Acme"\n', "providers.Acme: 'Acme' is not a slug", id="upper-case-slug"),
    pytest.param('[providers.acme]\ndisplay_name = "Acme"\n[providers.acme]\ndisplay_name = "Acme 2"\n', "not valid TOML", id="duplicate-slug"),
    pytest.param('[providers.acme]\nhosts = ["api.acme.test"]\n', "providers.acme.display_name: is required for a new provider", id="new-provider-without-name"),
    pytest.param('[providers.acme]\ndisplay_name = " "\n', "providers.acme.display_name: ' ' must be a non-empty string", id="blank-display-name"),
    pytest.param('[providers.acme]\ndisplay_name = "Acme"\nhosts = ["api.openai.com"]\n', "providers.acme.hosts[0]: 'api.openai.com' already belongs to providers.openai", id="host-collision"),
    pytest.param('[providers.acme]\ndisplay_name = "Acme"\naliases = ["groq"]\n', "providers.acme.aliases[0]: 'groq' already belongs to providers.groq", id="alias-is-another-slug"),
    pytest.param('[providers.acme]\ndisplay_name = "Acme"\naliases = ["hf"]\n', "providers.acme.aliases[0]: 'hf' already belongs to providers.huggingface", id="alias-collision"),
    pytest.param('[providers.acme]\ndisplay_name = "Acme"\naliases = ["Acme AI"]\n', "providers.acme.aliases[0]: 'Acme AI' is not a lower-case name", id="bad-alias"),
    pytest.param('[providers.acme]\ndisplay_name = "Acme"\ngateway_prefixes = ["meta-llama"]\n', "providers.acme.gateway_prefixes[0]: 'meta-llama' is also a maker org", id="prefix-is-maker-org"),
    pytest.param('[providers.acme]\ndisplay_name = "Acme"\ngateway_prefixes = ["groq"]\n', "providers.acme.gateway_prefixes[0]: 'groq' already belongs to providers.groq", id="prefix-collision"),
    pytest.param('[[families]]\nname = "X"\nprovider = "nosuch"\npatterns = ["x-*"]\n', "families[0].provider: 'nosuch' is not a declared provider", id="family-unknown-slug"),
    pytest.param('[[families]]\nname = "X"\nprovider = "openai"\npatterns = ["x-*", ""]\n', "families[0].patterns[1]: '' is an empty pattern", id="empty-pattern"),
    pytest.param('[[families]]\nname = "X"\nprovider = "openai"\npatterns = []\n', "families[0].patterns: must list at least one pattern", id="no-patterns"),
    pytest.param('[[families]]\nname = "X"\nprovider = "openai"\npatterns = ["*"]\n', "families[0].patterns[0]: '*' would match every model id", id="match-everything"),
    pytest.param('[[families]]\nname = "X"\nprovider = "openai"\npatterns = ["GPT-*"]\n', "families[0].patterns[0]: 'GPT-*' must be lower case", id="upper-case-pattern"),
    pytest.param('[[families]]\nname = "X"\npatterns = ["x-*"]\nexclusive = true\n', "families[0].exclusive: an exclusive family needs a provider", id="exclusive-without-provider"),
    pytest.param('[[families]]\nname = "X"\nprovider = "openai"\npatterns = ["x-*"]\nexclusive = "yes"\n', "families[0].exclusive: 'yes' must be true or false", id="exclusive-not-bool"),
    pytest.param('[[families]]\nname = "X"\nprovider = "openai"\npatterns = ["x-*"]\nmakers = ["nobody"]\n', "families[0].makers[0]: 'nobody' is not listed in maker_orgs", id="unknown-maker"),
    pytest.param('[[families]]\nname = "X"\nprovider = "openai"\npatterns = ["x-*"]\n[[families]]\nname = "Y"\nprovider = "groq"\npatterns = ["x-*"]\n', "families[1].patterns[0]: 'x-*' is already listed in families[0]", id="duplicate-pattern"),
    pytest.param('[[families]]\nprovider = "openai"\npatterns = ["x-*"]\n', "families[0].name: is required", id="family-without-name"),
    pytest.param('[[families]]\nname = "X"\nprovider = "openai"\npattern = ["x-*"]\n', "families[0].pattern: unknown key", id="family-unknown-key"),
    pytest.param('[[routes]]\nrule = "x"\nprovider = "nosuch"\ndescription = "d"\npatterns = ["x/*"]\n', "routes[0].provider: 'nosuch' is not a declared provider", id="route-unknown-slug"),
    pytest.param('[[routes]]\nrule = "x"\nprovider = "groq"\ndescription = "d"\n', "routes[0].patterns: is required", id="route-without-patterns"),
    pytest.param('[[routes]]\nrule = "X Y"\nprovider = "groq"\ndescription = "d"\npatterns = ["x/*"]\n', "routes[0].rule: 'X Y' is not a rule id", id="bad-rule-id"),
    pytest.param('[[routes]]\nrule = "x"\nprovider = "groq"\ndescription = "d"\npatterns = ["x/*"]\n[[routes]]\nrule = "x"\nprovider = "groq"\ndescription = "d"\npatterns = ["y/*"]\n', "routes[1].rule: 'x' is already used by routes[0]", id="duplicate-rule-id"),
    pytest.param("routes = 1\n", "routes: must be an array of tables", id="routes-not-array"),
    pytest.param('[categories]\nvideo = "nosuch"\n', "categories.video: 'nosuch' is not a declared provider", id="category-unknown-slug"),
    pytest.param('[categories]\npodcasts = "openai"\n', "categories.podcasts: unknown key", id="unknown-category"),
    pytest.param("[categories]\nvideo = 3\n", "categories.video: 3 must be a provider slug", id="category-not-a-string"),
    pytest.param("[providers.acme\n", "not valid TOML", id="toml-syntax"),
]


@pytest.mark.parametrize(("text", "message"), INVALID)
def test_invalid_files_name_the_file_and_the_entry(tmp_path, text, message):
    path = write(tmp_path, text, name="broken.toml")
    with pytest.raises(CatalogueError) as failure:
        detector_for(path)
    assert str(failure.value).startswith(f"{path.resolve()}: ")
    assert message in str(failure.value)
    assert isinstance(failure.value, ValueError)


def test_duplicate_slug_error_names_the_entry(tmp_path):
    path = write(tmp_path, '[providers.acme]\ndisplay_name = "A"\n[providers.acme]\ndisplay_name = "B"\n')
    with pytest.raises(CatalogueError, match=r"'acme'"):
        load_catalogue(path)


def test_missing_file(tmp_path):
    with pytest.raises(CatalogueError, match=r"nope\.toml: cannot read the catalogue"):
        detector_for(tmp_path / "nope.toml")
    with pytest.raises(CatalogueError, match=r"nope\.toml: cannot read the catalogue"):
        load_catalogue(tmp_path / "nope.toml")


def test_standalone_file_must_declare_what_it_names(tmp_path):
    path = write(tmp_path, '[categories]\nvideo = "wavespeed"\n')
    with pytest.raises(CatalogueError, match=r"deploy\.toml: categories\.video: 'wavespeed' is not a declared provider"):
        load_catalogue(path, extend_bundled=False)
