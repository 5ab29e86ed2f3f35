"""Property-based tests: the detector never raises, answers only catalogue slugs, ignores case
and surrounding whitespace, and caching never changes an answer."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.providers import APIProvider, Attribution, Detector, default_detector, load_catalogue
from portal.providers.categories import CATEGORY_VALUES

# No example database: the tests must not write a .hypothesis/ directory into the project.
PROPERTY_SETTINGS = settings(
    database=None,
    deadline=None,
    max_examples=300,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

DETECTOR = default_detector()
UNCACHED = Detector(load_catalogue(), cache_size=0)
ALLOWED = DETECTOR.slugs | {None}

# Pieces of real ids, hosts and traps, so generated strings reach deep into the rules.
FRAGMENTS = [
    "gpt-", "4o", "openai/", "gpt-oss-120b", ":groq", ":free", ":0", "/", "@", "@001", "models/", "us.", "us-gov.",
    "anthropic.", "claude-", "gemini-", "tts-1", "hf", "chefs", "wavespeed", "azure/", "groq/", "openrouter/",
    "https://", "http://", "//", "api.openai.com", ".example.test", "openai.azure.com", "acme.", "-aiplatform.",
    "us-central1", "googleapis.com", "bedrock-runtime.", ".amazonaws.com", "router.huggingface.co", "?", "#", ":",
    "@", ".", "*", "**", "<region>", "/video-generation/", "/llm/", "\x00", "\u202e", "\u200f", "🙂", " ", "\t", "\n",
    "ı", "ß", "İ", "K", "ﬁ", "meta-llama/", "qwen-image", "flux-", "ft:", "arn:aws:bedrock:",
    # Characters whose upper case is ASCII: "gemını-" upper-cases to "GEMINI-", "ſonar" to "SONAR".
    "gemını-", "ſonar", "ſd3",
]

category_strings = st.sampled_from(CATEGORY_VALUES).flatmap(
    lambda value: st.tuples(
        st.tuples(*[st.sampled_from([char.lower(), char.upper()]) for char in value]).map("".join),
        st.sampled_from(["", " ", "\t", "\n "]),
        st.sampled_from(["", " ", "\r\n"]),
    ).map(lambda parts: parts[1] + parts[0] + parts[2])
)
texts = st.one_of(
    st.text(max_size=10_000),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=200),
    st.lists(st.sampled_from(FRAGMENTS), max_size=12).map("".join),
)
non_strings = st.one_of(
    st.integers(), st.floats(allow_nan=True), st.binary(max_size=50), st.booleans(),
    st.lists(st.integers(), max_size=3), st.builds(object), st.just(3j),
)
any_input = st.one_of(st.none(), texts, st.sampled_from(list(APIProvider)), category_strings, non_strings)


def check(attribution: Attribution) -> None:
    """The invariants of every answer."""
    assert attribution.slug in ALLOWED
    if attribution.slug is None:
        assert (attribution.evidence, attribution.rule, attribution.display_name) == (None, "none", None)
    else:
        assert attribution.evidence in ("endpoint", "model", "category")
        assert attribution.display_name == DETECTOR.display_name(attribution.slug)
    assert isinstance(attribution.reason, str) and attribution.reason


@PROPERTY_SETTINGS
@given(category=any_input, model=any_input, endpoint=any_input)
def test_never_raises_and_answers_a_catalogue_slug_or_none(category, model, endpoint):
    check(DETECTOR.explain(category, model, endpoint))
    assert DETECTOR.detect(category, model, endpoint) in ALLOWED


@PROPERTY_SETTINGS
@given(category=st.one_of(st.none(), category_strings, texts), model=texts, endpoint=st.one_of(st.none(), texts))
def test_case_and_surrounding_whitespace_do_not_matter(category, model, endpoint):
    expected = DETECTOR.detect(category, model, endpoint)
    assert DETECTOR.detect(category, " " + model.upper() + "\n", endpoint) == expected
    if category is not None:
        assert DETECTOR.detect(" " + category.upper() + "\n", model, endpoint) == expected
    if endpoint is not None:
        assert DETECTOR.detect(category, model, "\t" + endpoint.upper() + " ") == expected


@PROPERTY_SETTINGS
@given(category=any_input, model=any_input, endpoint=any_input)
def test_cached_and_uncached_agree(category, model, endpoint):
    cached = DETECTOR.explain(category, model, endpoint)
    assert cached == UNCACHED.explain(category, model, endpoint)
    assert cached == DETECTOR.explain_uncached(category, model, endpoint)
    assert DETECTOR.explain(category, model, endpoint) == cached  # again, from the cache


HUGE = [
    "a" * 10_000,
    "/" * 10_000,
    "a/" * 5_000 + ":groq",
    "a/:" * 3_333,
    "x@" * 5_000,
    "\x00" * 10_000,
    "https://" + "a." * 5_000 + "com",
    "https://" + "a-" * 5_000 + ".openai.azure.com/x",
    "gpt-" + "4" * 10_000,
    "//" + "a" * 10_000,
    "a." * 5_000,
    "-" * 10_000,
    "\u202e" * 5_000,
    "🙂" * 5_000,
    "api.openai.com/" * 700,
    "openai/" * 1_500,
    "/llm/hf" * 1_500,
    "us." * 3_000 + "anthropic.claude",
    " " * 10_000,
    "ß" * 10_000,
]


@pytest.mark.parametrize("huge", HUGE, ids=[f"huge{index}" for index in range(len(HUGE))])
def test_huge_inputs_are_handled_quickly(huge):
    started = time.perf_counter()
    for arguments in ((huge, None, None), (None, huge, None), (None, None, huge), (huge, huge, huge)):
        check(UNCACHED.explain(*arguments))
        check(DETECTOR.explain(*arguments))
    # Generous bound: it is milliseconds; a quadratic regex would take seconds.
    assert time.perf_counter() - started < 2.0


def test_huge_model_id_still_gets_the_category_fallback():
    assert DETECTOR.detect(APIProvider.VIDEO, "gpt-" + "4" * 10_000) == "wavespeed"
