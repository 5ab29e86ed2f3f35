"""Benchmark the provider detector: ``python -m bench.detector``.

Builds a deterministic, realistic mixed corpus (about 400 distinct
(category, model, endpoint) triples drawn from the provider mixes this portal
sees: route paths, provider URLs, gateway-prefixed ids, bare ids, Bedrock ids,
Hugging Face suffixed ids, unknown models), expands it to 50,000 calls with a
Zipf-like popularity, and measures in one run, best of 3 with time.perf_counter:

* the detector without its cache,
* the detector with its cache (a fresh detector each repeat, so the first sight
  of every triple is a miss),
* the naive substring if-chain that issue 3 warns about (below, labelled),

then prints how often that naive chain disagrees with the detector.
"""

from __future__ import annotations

import argparse
import collections
import datetime as dt
import itertools
import platform
import random
import sys
import time
from typing import Callable, Iterable, Sequence

from portal.providers import APIProvider, Detector, load_catalogue

P = APIProvider
Triple = tuple[APIProvider | None, str | None, str | None]

SEED = 20240917
CALLS = 50_000
DISTINCT = 400
REPEATS = 3


# --- the anti-pattern, kept only as a baseline ------------------------------------------

_NAIVE_CATEGORY = {"gemini": "google", "openai": "openai", "anthropic": "anthropic", "mistral": "mistral",
                   "stability": "stability", "video": "wavespeed", "audio": "wavespeed", "image_edit": "wavespeed"}


def naive_substring_detect(provider_enum: APIProvider | None, model_name: str | None, endpoint: str | None) -> str:
    """ANTI-PATTERN (do not use): the substring if-chain issue 3 describes, as a baseline.

    It has every trap named there: "hf" matches inside any word, "tts" sends
    OpenAI's tts-1 to Google, "gpt" ignores Azure hosts and gateway prefixes,
    Bedrock's anthropic.claude ids count as Anthropic, ``provider_enum.value``
    crashes on a plain-string category, and when nothing matches it silently
    claims OpenAI.
    """
    model = (model_name or "").lower()
    url = (endpoint or "").lower()
    if "wavespeed" in url or "wavespeed" in model:
        return "wavespeed"
    if "hf" in model or "hf" in url or "huggingface" in url:
        return "huggingface"
    if "claude" in model or "anthropic" in url:
        return "anthropic"
    if "gemini" in model or "tts" in model or "imagen" in model or "veo" in model or "google" in url:
        return "google"
    if "gpt" in model or "dall-e" in model or "whisper" in model or "openai" in url:
        return "openai"
    if "stability" in url or "stable" in model or "sd3" in model:
        return "stability"
    if "mistral" in model:
        return "mistral"
    if "groq" in url or "groq" in model:
        return "groq"
    if provider_enum is None:
        return "openai"
    category = provider_enum.value  # AttributeError when the category arrives as a plain string
    return _NAIVE_CATEGORY.get(category, category) if category else "openai"


# --- the corpus ------------------------------------------------------------------------------

WAVESPEED_MODELS = [
    "alibaba/wan-2.5/text-to-video", "alibaba/wan-2.5/image-to-video", "wan-2.5", "bytedance/seedance-v1-pro-t2v-480p",
    "seedance-v1-lite-i2v", "wavespeed-ai/infinitetalk", "wavespeed-ai/flux-dev", "wavespeed-ai/hunyuan-video/t2v",
    "minimax/speech-02-hd", "minimax/speech-02-turbo", "minimax/voice-clone", "qwen-image", "qwen-image-edit",
    "flux-kontext-pro", "flux-dev", "ideogram-v3-turbo", "kwaivgi/kling-v2.1-i2v-pro",
]


def pairs(models: Sequence[str | None], endpoints: Sequence[str | None]) -> list[tuple[str | None, str | None]]:
    """Every (model, endpoint) combination, for mixes where any model meets any endpoint."""
    return list(itertools.product(models, endpoints))


# (weight, categories, (model, endpoint) pairs): the provider mixes of a typical tenant.
MIXES: list[tuple[int, Sequence[APIProvider | None], Sequence[tuple[str | None, str | None]]]] = [
    (30, [P.VIDEO, P.AUDIO, P.IMAGE_EDIT, P.STABILITY, P.WAVESPEED], pairs(WAVESPEED_MODELS,
     ["/video-generation/wavespeed", "/audio-generation/wavespeed", "/audio-generation/wavespeed/voice-clone",
      "/image-generation/wavespeed", "/image-edit/wavespeed", "https://api.wavespeed.ai/api/v3/predictions", None])),
    (14, [P.GEMINI],
     pairs(["gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.0-flash", "gemini-1.5-pro", "models/gemini-1.5-flash",
      "gemini-2.5-flash-preview-tts", "imagen-4.0-generate-001", "veo-3.0-generate-001", "text-embedding-004",
      "gemini-1.0-pro@001", "gemma-3-27b-it"],
     [None, "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent",
      "https://us-central1-aiplatform.googleapis.com/v1/projects/acme/locations/us-central1/publishers/google/models/gemini-1.5-pro:generateContent",
      "/llm/gemini/chat"])),
    (14, [P.OPENAI],
     pairs(["gpt-4o", "gpt-4o-mini", "gpt-4.1", "o3-mini", "o4-mini", "gpt-image-1", "dall-e-3", "tts-1", "tts-1-hd",
      "whisper-1", "text-embedding-3-small", "omni-moderation-latest", "chatgpt-4o-latest",
      "ft:gpt-4o-mini-2024-07-18:acme::a1b2c3"],
     [None, "https://api.openai.com/v1/chat/completions", "/llm/openai/chat"])),
    (6, [P.OPENAI], pairs(["gpt-4o", "gpt-4o-mini", "gpt-35-turbo", "azure/gpt-4o", "azure/gpt-4o-mini"],
     [None, "https://acme-prod.openai.azure.com/openai/deployments/gpt-4o/chat/completions?api-version=2024-06-01",
      "https://acme.services.ai.azure.com/models/chat/completions"])),
    (10, [P.ANTHROPIC],
     pairs(["claude-3-5-sonnet-20241022", "claude-sonnet-4-20250514", "claude-3-haiku-20240307",
      "anthropic.claude-3-5-sonnet-20240620-v1:0", "us.anthropic.claude-3-5-sonnet-20241022-v2:0",
      "global.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4@20250514",
      "bedrock/anthropic.claude-3-haiku-20240307-v1:0"],
     [None, "https://api.anthropic.com/v1/messages",
      "https://bedrock-runtime.us-east-1.amazonaws.com/model/anthropic.claude-3-haiku-20240307-v1:0/invoke",
      "/llm/anthropic/chat"])),
    (10, [P.MISTRAL],
     pairs(["openai/gpt-oss-120b:groq", "openai/gpt-oss-120b", "meta-llama/Llama-3.1-8B-Instruct",
      "meta-llama/Llama-3.1-8B-Instruct:cerebras", "Qwen/Qwen2.5-72B-Instruct:together",
      "mistralai/Mistral-7B-Instruct-v0.3", "deepseek-ai/DeepSeek-R1:novita", "tencent/HunyuanVideo",
      "google/gemma-2-9b-it:nebius", "black-forest-labs/FLUX.1-dev:fal-ai"],
     [None, "https://router.huggingface.co/v1/chat/completions", "/llm/hf/chat",
      "https://api-inference.huggingface.co/models/meta-llama/Llama-3.1-8B-Instruct"])),
    (6, [P.OPENAI, None, P.MISTRAL],
     pairs(["groq/llama-3.1-8b-instant", "together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo", "openrouter/openai/gpt-4o",
      "anthropic/claude-3.5-sonnet:beta", "meta-llama/llama-3.3-70b-instruct:free", "deepseek/deepseek-chat",
      "xai/grok-2-latest", "mistral/mistral-large-latest",
      "fireworks_ai/accounts/fireworks/models/llama-v3p1-70b-instruct", "cerebras/llama3.1-8b",
      "perplexity/sonar-pro", "openai/gpt-4o"],
     [None])),
    (5, [P.OPENAI, None], [
        ("llama-3.3-70b-versatile", "https://api.groq.com/openai/v1/chat/completions"),
        ("openai/gpt-oss-120b", "https://api.groq.com/openai/v1/chat/completions"),
        ("llama-3.3-70b-versatile", None),
        ("mistral-large-latest", "https://api.mistral.ai/v1/chat/completions"), ("mistral-large-latest", None),
        ("deepseek-chat", "https://api.deepseek.com/chat/completions"), ("deepseek-reasoner", None),
        ("grok-4", "https://api.x.ai/v1/chat/completions"), ("grok-4", None),
        ("sonar-pro", "https://api.perplexity.ai/chat/completions"), ("sonar", None),
        ("command-r-plus", "https://api.cohere.com/v2/chat"), ("rerank-english-v3.0", None),
        ("eleven_multilingual_v2", "https://api.elevenlabs.io/v1/text-to-speech/voice123"),
        ("voyage-3", "https://api.voyageai.com/v1/embeddings"), ("jamba-1.5-large", "https://api.ai21.com/studio/v1/chat/completions"),
        ("meta-llama/Llama-3.3-70B-Instruct-Turbo", "https://api.together.xyz/v1/chat/completions"),
        ("accounts/fireworks/models/llama-v3p1-8b-instruct", "https://api.fireworks.ai/inference/v1/chat/completions"),
        ("fal-ai/flux/dev", "https://fal.run/fal-ai/flux/dev"),
        ("black-forest-labs/flux-schnell", "https://api.replicate.com/v1/models/black-forest-labs/flux-schnell/predictions"),
        ("meta-llama/Meta-Llama-3.1-8B-Instruct", "https://api.deepinfra.com/v1/openai/chat/completions"),
        ("llama3.1-8b", "https://api.cerebras.ai/v1/chat/completions"),
        ("openai/gpt-4o", "https://openrouter.ai/api/v1/chat/completions"),
    ]),
    (5, [P.STABILITY, P.IMAGE_EDIT],
     pairs(["sd3-large", "sd3.5-large", "stable-image-ultra", "stable-diffusion-xl-1024-v1-0", "stability.sd3-large-v1:0"],
     ["/image-generation/stability", "https://api.stability.ai/v2beta/stable-image/generate/sd3", None])),
    (4, [P.OPENAI, P.VIDEO, P.MISTRAL, None],
     pairs(["my-finetune-v2", "chefs-model-v1", "llama-3.1-8b", "internal-router", "custom-tts-voice", "shf-lite"],
     [None, "/api/v1/chat", "https://proxy.internal.example/v1/chat"])),
]
SEARCH: list[Triple] = [
    (P.TAVILY, None, "https://api.tavily.com/search"), (P.TAVILY, None, None),
    (P.SERPER, None, "https://google.serper.dev/search"), (P.SERPER, None, None),
    (P.METAPHOR, None, "https://api.metaphor.systems/search"), (P.METAPHOR, None, None),
    (P.EXA, None, "https://api.exa.ai/search"), (P.EXA, None, "https://api.exa.ai/contents"), (P.EXA, None, None),
    (P.FIRECRAWL, None, "https://api.firecrawl.dev/v1/scrape"), (P.FIRECRAWL, None, None),
]


SEARCH_WEIGHT = 4


def build_corpus(seed: int = SEED, calls: int = CALLS, distinct: int = DISTINCT) -> tuple[list[Triple], list[Triple]]:
    """(distinct triples, calls): deterministic for a seed.

    Each mix gets its weight's share of the distinct triples and of the calls;
    inside a mix, popularity is Zipf-like (a few triples dominate, as in real logs).
    """
    rng = random.Random(seed)
    weighted_mixes = [(SEARCH_WEIGHT, list(SEARCH))]
    seen = set(SEARCH)  # a triple belongs to the first mix that lists it
    for weight, categories, model_endpoints in MIXES:
        pool = [(category, model, endpoint) for category in categories for model, endpoint in model_endpoints]
        pool = [triple for triple in pool if triple not in seen]
        seen.update(pool)
        rng.shuffle(pool)
        weighted_mixes.append((weight, pool))
    total_weight = sum(weight for weight, _ in weighted_mixes)
    taken = [pool[: max(1, round(distinct * weight / total_weight))] for weight, pool in weighted_mixes]
    # Small mixes cannot fill their quota: top up, in turn, from the mixes that have triples left.
    while sum(map(len, taken)) < distinct and any(len(t) < len(p) for t, (_, p) in zip(taken, weighted_mixes)):
        for index, (_, pool) in enumerate(weighted_mixes):
            if len(taken[index]) < len(pool) and sum(map(len, taken)) < distinct:
                taken[index] = pool[: len(taken[index]) + 1]
    triples: list[Triple] = []
    weights: list[float] = []
    for (weight, _), mix_triples in zip(weighted_mixes, taken):
        zipf = [1.0 / (rank + 1) for rank in range(len(mix_triples))]
        triples.extend(mix_triples)
        weights.extend(weight * share / sum(zipf) for share in zipf)
    return triples, rng.choices(triples, weights=weights, k=calls)


# --- measurement ---------------------------------------------------------------------------

def best_seconds(run: Callable[[], None], repeats: int = REPEATS) -> float:
    """Best wall time of ``repeats`` runs."""
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


def run_all(function: Callable[[APIProvider | None, str | None, str | None], object], corpus: Iterable[Triple]) -> None:
    """Call ``function`` once per corpus entry."""
    for category, model, endpoint in corpus:
        function(category, model, endpoint)


def cpu_model() -> str:
    """The CPU model name (platform.processor() is often empty on Linux)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine() or "unknown"


def main(argv: Sequence[str] | None = None) -> int:
    """Run the benchmark and print the report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=CALLS)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--repeats", type=int, default=REPEATS)
    options = parser.parse_args(argv)

    started = time.perf_counter()
    catalogue = load_catalogue()
    Detector(catalogue)
    build_ms = (time.perf_counter() - started) * 1000
    triples, corpus = build_corpus(options.seed, options.calls)

    uncached = Detector(catalogue, cache_size=0)
    uncached_s = best_seconds(lambda: run_all(uncached.detect, corpus), options.repeats)

    cached_runs: list[Detector] = []

    def cached_run() -> None:
        detector = Detector(catalogue)  # fresh each repeat: every first sight is a miss
        cached_runs.append(detector)
        run_all(detector.detect, corpus)

    cached_s = best_seconds(cached_run, options.repeats)
    naive_s = best_seconds(lambda: run_all(naive_substring_detect, corpus), options.repeats)

    # Correctness: where does the naive chain disagree with the detector?
    answers = {triple: uncached.detect(*triple) for triple in triples}
    naive = {triple: naive_substring_detect(*triple) for triple in triples}
    wrong_triples = {triple for triple in triples if naive[triple] != answers[triple]}
    wrong_calls = collections.Counter(triple for triple in corpus if triple in wrong_triples)
    info = cached_runs[-1].cache_info()

    now = dt.datetime.now(dt.timezone.utc)
    print("Provider detector benchmark (python -m bench.detector)")
    print(f"date      {now:%Y-%m-%d %H:%M UTC}")
    print(f"python    {platform.python_version()} ({platform.python_implementation()}) on {platform.system()} {platform.machine()}")
    print(f"cpu       {cpu_model()} (platform.processor(): {platform.processor()!r})")
    print(f"corpus    {len(corpus):,} calls over {len(triples)} distinct (category, model, endpoint) triples, seed {options.seed}")
    print(f"catalogue {len(catalogue.providers)} providers, {len(catalogue.routes)} route rules, "
          f"{sum(len(f.patterns) for f in catalogue.families)} family patterns; load + compile {build_ms:.1f} ms")
    print(f"method    time.perf_counter, best of {options.repeats} repeats")
    print()
    print(f"{'':34}{'calls/s':>12}{'us/call':>10}{'vs uncached':>14}")
    for label, seconds in (
        ("detector, uncached", uncached_s),
        ("detector, cached (fresh detector)", cached_s),
        ("naive substring if-chain", naive_s),
    ):
        print(f"{label:34}{len(corpus) / seconds:>12,.0f}{seconds / len(corpus) * 1e6:>10.2f}{uncached_s / seconds:>13.1f}x")
    print(f"\ncache     {info.hits:,} hits, {info.misses:,} misses per cached run")
    print(f"naive chain disagrees with the detector on {sum(wrong_calls.values()):,} of {len(corpus):,} calls "
          f"({sum(wrong_calls.values()) / len(corpus):.1%}) and {len(wrong_triples)} of {len(triples)} distinct triples")
    print("most frequent disagreements (calls: category, model, endpoint -> naive / detector):")
    for (category, model, endpoint), count in wrong_calls.most_common(8):
        triple = (category, model, endpoint)
        print(f"  {count:>6,}: {getattr(category, 'value', category)}, {model}, {endpoint} "
              f"-> {naive[triple]} / {answers[triple]}")
    print(f"\ntotal run time {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
