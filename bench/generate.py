"""Generate a realistic ``api_usage_logs`` data set for the scale benchmarks.

    python -m bench.generate --rows 1000000 --db sqlite:////tmp/bench.sqlite3
    python -m bench.generate --rows 1000000 --db postgresql+psycopg://postgres@/bench?host=/tmp/pg --schema before

The schema comes from the real migrations (Flask-Migrate ``upgrade`` inside
``create_app``): ``--schema before`` stops at ``0001_initial_schema`` (no
``actual_provider_name``: the legacy state the backfill starts from); ``--schema
head`` is the full schema, with ``actual_provider_name`` filled by the app's own
detector, once per distinct (category, model, endpoint).

The data: ``--rows`` logs over the 12 months before ``--end``, with more traffic
recently; ``--users`` users, one of them heavy (``--heavy-rows`` per million
rows, so 300,000 at 1M and 600 at 2,000); about 400 distinct (category, model,
endpoint) triples drawn from realistic provider mixes: direct provider URLs,
Azure resources, Bedrock hosts and ids, Vertex and Gemini hosts and ids, the
Hugging Face router with ``:provider`` suffixes, OpenRouter variants,
LiteLLM-style gateway prefixes, the app's own route paths, unknown hosts and
models, legacy case/whitespace variants. Popularity follows a Zipf law; each
ordinary user uses a subset of the mix, the heavy user all of it. The same
``--seed`` and ``--end`` give the same rows on either schema and database.

Speed: rows are drawn as packed integers, sorted by timestamp (ids follow time,
as in production), then materialised chunk by chunk from per-triple payload
pools and written with one executemany per chunk (SQLite) or ``COPY`` (PostgreSQL).
Money is written as integer units of 1e-8 on SQLite and as exact decimal text on
PostgreSQL, which is what ``ExactMoney`` stores.

The heavy user signs in as ``heavy@bench.example.com`` / ``bench-password``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time
from dataclasses import dataclass
from typing import Callable, Iterable

import sqlalchemy as sa

REVISIONS = {"before": "0001_initial_schema", "head": "head"}
HEAVY_EMAIL = "heavy@bench.example.com"
PASSWORD = "bench-password"
DEFAULT_SEED = 20261204
DEFAULT_TRIPLES = 400
CHUNK = 50_000
PAYLOAD_BITS = 6  # 64 pre-drawn payload variants per triple
TRIPLE_BITS = 10  # up to 1,024 triples
UNITS = 10**8  # ExactMoney: integer units of 1e-8

LLM_CATEGORIES = frozenset({"gemini", "openai", "anthropic", "mistral"})
FAILURES = (
    (429, "Rate limit exceeded; retry after 20s"),
    (500, "Upstream returned an internal error"),
    (503, "Model is overloaded"),
    (400, "Request rejected: prompt exceeds the context window"),
    (504, "Upstream timed out after 120s"),
)
LOG_COLUMNS = (
    "user_id", "provider", "endpoint", "method", "model_used", "actual_provider_name",
    "tokens_input", "tokens_output", "tokens_total", "cost_input", "cost_output", "cost_total",
    "response_time", "status_code", "error_message", "retry_count", "request_size", "response_size",
    "timestamp", "billing_period", "created_at",
)

Triple = tuple[str, "str | None", "str | None"]


# --- the call mix ------------------------------------------------------------------

def call_mix() -> list[Triple]:
    """Every candidate (category, model, endpoint), in a fixed order, without duplicates.

    Roughly 450 candidates; ``build_triples`` keeps ``--triples`` of them.
    """
    out: list[Triple] = []
    add = lambda category, model, endpoint: out.append((category, model, endpoint))  # noqa: E731

    # OpenAI, direct.
    for m in ("gpt-4o", "gpt-4o-mini", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "o3", "o3-mini",
              "o4-mini", "gpt-5", "gpt-5-mini", "chatgpt-4o-latest", "gpt-4o-2024-08-06"):
        add("openai", m, "https://api.openai.com/v1/chat/completions")
        add("openai", m, "https://api.openai.com/v1/responses")
    for m, path in (("text-embedding-3-small", "embeddings"), ("text-embedding-3-large", "embeddings"),
                    ("omni-moderation-latest", "moderations"), ("whisper-1", "audio/transcriptions"),
                    ("gpt-4o-mini-transcribe", "audio/transcriptions")):
        add("openai", m, f"https://api.openai.com/v1/{path}")
    for m in ("tts-1", "tts-1-hd", "gpt-4o-mini-tts"):
        add("audio", m, "https://api.openai.com/v1/audio/speech")
    for m in ("dall-e-3", "gpt-image-1"):
        add("stability", m, "https://api.openai.com/v1/images/generations")
    add("image_edit", "gpt-image-1", "https://api.openai.com/v1/images/edits")

    # Azure OpenAI resources and AI Foundry.
    for resource in ("contoso-eu", "contoso-us", "fabrikam-prod", "northwind-ai"):
        for m in ("gpt-4o", "gpt-4o-mini", "gpt-35-turbo", "gpt-4.1", "text-embedding-3-small"):
            kind = "embeddings" if "embedding" in m else "chat/completions"
            add("openai", m, f"https://{resource}.openai.azure.com/openai/deployments/{m}/{kind}?api-version=2024-10-21")
    for m in ("gpt-4o", "DeepSeek-R1", "Phi-4"):
        add("openai", m, "https://acme-foundry.services.ai.azure.com/models/chat/completions?api-version=2024-05-01-preview")
    add("openai", "gpt-35-turbo", None)

    # Anthropic, direct and behind the app's route.
    for m in ("claude-sonnet-4-20250514", "claude-opus-4-1-20250805", "claude-3-5-haiku-20241022",
              "claude-3-7-sonnet-20250219", "claude-3-5-sonnet-20241022", "claude-haiku-4-5", "claude-sonnet-4-5"):
        add("anthropic", m, "https://api.anthropic.com/v1/messages")
        add("anthropic", m, None)
    add("anthropic", "claude-3-5-sonnet-latest", "/llm/anthropic/messages")

    # AWS Bedrock: ids alone and regional runtime hosts.
    for m in ("anthropic.claude-3-5-sonnet-20240620-v1:0", "us.anthropic.claude-3-7-sonnet-20250219-v1:0",
              "eu.anthropic.claude-3-5-haiku-20241022-v1:0", "us.anthropic.claude-sonnet-4-20250514-v1:0",
              "global.anthropic.claude-sonnet-4-5-20250929-v1:0"):
        add("anthropic", m, None)
        for region in ("us-east-1", "us-west-2", "eu-central-1"):
            add("anthropic", m, f"https://bedrock-runtime.{region}.amazonaws.com/model/{m}/invoke")
    for category, m in (("openai", "meta.llama3-1-70b-instruct-v1:0"), ("openai", "amazon.nova-pro-v1:0"),
                        ("openai", "amazon.nova-lite-v1:0"), ("mistral", "mistral.mistral-large-2407-v1:0"),
                        ("openai", "cohere.command-r-plus-v1:0"), ("openai", "amazon.titan-embed-text-v2:0")):
        add(category, m, None)
        add(category, m, f"https://bedrock-runtime.us-east-1.amazonaws.com/model/{m}/converse")
    add("anthropic", "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20241022-v2:0", None)

    # Google: Gemini API, Vertex AI regions, the app's route, resource names.
    for m in ("gemini-2.5-flash", "gemini-2.5-pro", "gemini-2.0-flash", "gemini-2.5-flash-lite",
              "gemini-1.5-flash-002", "gemini-embedding-001"):
        add("gemini", m, None)
        add("gemini", m, "/llm/gemini/generate")
        add("gemini", m, f"https://generativelanguage.googleapis.com/v1beta/models/{m}:generateContent")
        for region in ("us-central1", "europe-west4"):
            add("gemini", m, f"https://{region}-aiplatform.googleapis.com/v1/projects/acme-prod/locations/"
                             f"{region}/publishers/google/models/{m}:generateContent")
    for category, m in (("gemini", "gemini-1.5-pro@002"), ("anthropic", "claude-3-5-sonnet-v2@20241022"),
                        ("gemini", "publishers/google/models/gemini-2.0-flash-001"), ("gemini", "models/gemini-2.5-flash"),
                        ("gemini", "projects/acme-prod/locations/us-central1/publishers/google/models/gemini-2.5-pro"),
                        ("gemini", "tunedModels/support-bot-v7")):
        add(category, m, None)

    # Hugging Face: router ids with :provider suffixes (logged as "mistral", historically), plain ids.
    bases = ("openai/gpt-oss-120b", "openai/gpt-oss-20b", "meta-llama/Llama-3.3-70B-Instruct",
             "meta-llama/Llama-3.1-8B-Instruct", "deepseek-ai/DeepSeek-R1", "deepseek-ai/DeepSeek-V3-0324",
             "Qwen/Qwen2.5-72B-Instruct", "Qwen/Qwen3-235B-A22B", "moonshotai/Kimi-K2-Instruct", "zai-org/GLM-4.5")
    suffixes = ("groq", "together", "fireworks-ai", "novita", "cerebras", "sambanova", "nebius", "hyperbolic")
    for i, base in enumerate(bases):
        for j in range(3):
            model = f"{base}:{suffixes[(i + 3 * j) % len(suffixes)]}"
            add("mistral", model, "https://router.huggingface.co/v1/chat/completions")
            add("mistral", model, None)
        add("mistral", base, "/llm/hf/chat")
        add("mistral", base, f"https://api-inference.huggingface.co/models/{base}")
    add("mistral", "HuggingFaceH4/zephyr-7b-beta", "https://zephyr-prod.us-east-1.aws.endpoints.huggingface.cloud/v1/chat/completions")

    # LiteLLM-style gateway prefixes, bare and through an in-house gateway host.
    for category, m in (("mistral", "groq/llama-3.3-70b-versatile"), ("mistral", "groq/llama-3.1-8b-instant"),
                        ("mistral", "together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo"),
                        ("mistral", "fireworks_ai/accounts/fireworks/models/llama-v3p1-70b-instruct"),
                        ("mistral", "deepinfra/meta-llama/Meta-Llama-3.1-70B-Instruct"),
                        ("anthropic", "openrouter/anthropic/claude-3.5-sonnet"), ("openai", "openrouter/openai/gpt-4o"),
                        ("openai", "azure/gpt-4o"), ("anthropic", "bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0"),
                        ("gemini", "vertex_ai/gemini-2.5-pro"), ("gemini", "gemini/gemini-2.5-flash"),
                        ("mistral", "mistral/mistral-large-latest"), ("mistral", "cerebras/llama3.1-8b"),
                        ("openai", "deepseek/deepseek-chat"), ("openai", "xai/grok-3"), ("openai", "perplexity/sonar-pro"),
                        ("openai", "cohere/command-r-plus"), ("openai", "text-completion-openai/gpt-3.5-turbo-instruct")):
        add(category, m, None)
        add(category, m, "https://llm-gateway.acme.internal/v1/chat/completions")

    # Other providers' own APIs.
    for category, m, endpoint in (
        ("mistral", "mistral-large-latest", "https://api.mistral.ai/v1/chat/completions"),
        ("mistral", "mistral-small-latest", "https://api.mistral.ai/v1/chat/completions"),
        ("mistral", "open-mistral-nemo", "https://api.mistral.ai/v1/chat/completions"),
        ("mistral", "pixtral-large-latest", "https://api.mistral.ai/v1/chat/completions"),
        ("mistral", "mistral-embed", "https://api.mistral.ai/v1/embeddings"),
        ("mistral", "codestral-latest", "https://codestral.mistral.ai/v1/fim/completions"),
        ("mistral", "mistral-large-latest", None), ("mistral", "magistral-medium-latest", None),
        ("openai", "llama-3.3-70b-versatile", "https://api.groq.com/openai/v1/chat/completions"),
        ("openai", "llama-3.1-8b-instant", "https://api.groq.com/openai/v1/chat/completions"),
        ("mistral", "llama-3.3-70b-versatile", None),
        ("mistral", "meta-llama/Llama-3.3-70B-Instruct-Turbo", "https://api.together.xyz/v1/chat/completions"),
        ("mistral", "meta-llama/Llama-3.3-70B-Instruct-Turbo", None),
        ("mistral", "accounts/fireworks/models/llama-v3p1-405b-instruct", "https://api.fireworks.ai/inference/v1/chat/completions"),
        ("openai", "deepseek-chat", "https://api.deepseek.com/chat/completions"),
        ("openai", "deepseek-reasoner", "https://api.deepseek.com/chat/completions"),
        ("openai", "deepseek-chat", None),
        ("openai", "grok-3", "https://api.x.ai/v1/chat/completions"),
        ("openai", "grok-4", "https://api.x.ai/v1/chat/completions"), ("openai", "grok-4", None),
        ("openai", "sonar", "https://api.perplexity.ai/chat/completions"),
        ("openai", "sonar-pro", "https://api.perplexity.ai/chat/completions"),
        ("mistral", "llama3.1-8b", "https://api.cerebras.ai/v1/chat/completions"),
        ("mistral", "meta-llama/Meta-Llama-3.1-70B-Instruct", "https://api.deepinfra.com/v1/openai/chat/completions"),
        ("openai", "command-r-plus", "https://api.cohere.com/v2/chat"),
        ("openai", "embed-english-v3.0", "https://api.cohere.ai/v1/embed"),
        ("openai", "rerank-v3.5", "https://api.cohere.com/v2/rerank"),
        ("openai", "jamba-1.5-large", "https://api.ai21.com/studio/v1/chat/completions"),
        ("openai", "voyage-3", "https://api.voyageai.com/v1/embeddings"),
        ("openai", "rerank-2", "https://api.voyageai.com/v1/rerank"),
    ):
        add(category, m, endpoint)

    # OpenRouter ids, with and without routing/catalogue variants.
    for category, m in (("anthropic", "anthropic/claude-3.5-sonnet"), ("openai", "openai/gpt-4o"),
                        ("gemini", "google/gemini-2.5-flash"), ("mistral", "meta-llama/llama-3.3-70b-instruct:free"),
                        ("openai", "deepseek/deepseek-r1:nitro"), ("mistral", "qwen/qwen3-coder:free"),
                        ("openai", "x-ai/grok-4"), ("mistral", "mistralai/mistral-small-3.2-24b-instruct:floor")):
        add(category, m, "https://openrouter.ai/api/v1/chat/completions")
        add(category, m, None)

    # Video: WaveSpeed-served ids on the app's routes and WaveSpeed's API; Veo; HF; unknown.
    for m in ("alibaba/wan-2.5/text-to-video", "alibaba/wan-2.5/image-to-video", "wan-2.2-t2v-720p",
              "bytedance/seedance-v1-pro-t2v-1080p", "kwaivgi/kling-v2.1-t2v-master", "minimax/hailuo-02"):
        add("video", m, "/video-generation/wavespeed")
        add("video", m, f"https://api.wavespeed.ai/api/v3/{m}")
        add("video", m, "/video-generation")
    for m in ("veo-3.0-fast-generate-001", "veo-3.0-generate-001"):
        add("video", m, "/video-generation/google")
        add("video", m, f"https://us-central1-aiplatform.googleapis.com/v1/projects/acme-prod/locations/"
                        f"us-central1/publishers/google/models/{m}:predictLongRunning")
        add("video", m, "/video-generation")
    add("video", "tencent/HunyuanVideo", "/video-generation/hf")
    add("video", "tencent/HunyuanVideo", None)
    add("video", "studio-upscaler-v2", "/video-generation/upscale")
    add("video", "frame-interp-v1", "/video-generation/interpolate")
    add("video", None, "/video-generation")

    # Images: WaveSpeed-served (route, API, generic route, no endpoint), fal.ai, Stability.
    for category, m in (("stability", "qwen-image"), ("stability", "flux-dev"), ("stability", "flux-schnell"),
                        ("stability", "flux-1.1-pro"), ("image_edit", "flux-kontext-pro"), ("image_edit", "flux-kontext-max"),
                        ("stability", "bytedance/seedream-v3"), ("stability", "ideogram-v3-turbo"), ("stability", "wan-2.2-t2i")):
        route = "/image-edit" if category == "image_edit" else "/image-generation"
        add(category, m, f"{route}/wavespeed")
        add(category, m, f"https://api.wavespeed.ai/api/v3/{m}")
        add(category, m, route)
        add(category, m, None)
    for m, endpoint in (("flux-dev", "https://fal.run/fal-ai/flux/dev"), ("flux-1.1-pro", "https://queue.fal.run/fal-ai/flux-pro/v1.1"),
                        ("flux-schnell", "https://fal.run/fal-ai/flux/schnell")):
        add("stability", m, endpoint)
    for m in ("sd3.5-large", "sd3.5-medium", "stable-image-ultra", "stable-image-core", "stable-diffusion-xl-1024-v1-0"):
        add("stability", m, "/image-generation/stability")
        add("stability", m, "https://api.stability.ai/v2beta/stable-image/generate/sd3")
        add("stability", m, "/image-generation")
    for m in ("qwen-image-edit", "flux-kontext-dev", "bytedance/seededit-v3", "nano-banana"):
        add("image_edit", m, "/image-edit/wavespeed")
        add("image_edit", m, "/image-edit")
        add("image_edit", m, None)
    add("wavespeed", "wavespeed-ai/flux-dev", "https://api.wavespeed.ai/api/v3/wavespeed-ai/flux-dev")
    add("wavespeed", "wavespeed-ai/wan-2.1/t2v-480p", None)
    add("wavespeed", "wavespeed-ai/infinitetalk", "https://api.wavespeed.ai/api/v3/wavespeed-ai/infinitetalk")
    add("wavespeed", None, None)

    # Audio.
    for m in ("minimax/speech-02-hd", "minimax/speech-02-turbo", "minimax/voice-clone"):
        add("audio", m, "/audio-generation/wavespeed")
        add("audio", m, f"https://api.wavespeed.ai/api/v3/{m}")
        add("audio", m, "/audio-generation")
    for m in ("eleven_multilingual_v2", "eleven_turbo_v2_5", "eleven_flash_v2_5"):
        for voice in ("21m00Tcm4TlvDq8ikWAM", "EXAVITQu4vr4xnSDxMaL", "pNInz6obpgDQGcFmaJgB", "ErXwobaYiN019PkySvjV"):
            add("audio", m, f"https://api.elevenlabs.io/v1/text-to-speech/{voice}")
    add("audio", "stable-audio-2.5", "/audio-generation/stability")
    add("audio", "stable-audio-2.5", None)

    # Search and crawling APIs.
    for category, m, endpoint in (
        ("tavily", "tavily-search", "https://api.tavily.com/search"), ("tavily", "tavily-extract", "https://api.tavily.com/extract"),
        ("tavily", None, "https://api.tavily.com/search"), ("tavily", None, None),
        ("serper", None, "https://google.serper.dev/search"), ("serper", None, "https://google.serper.dev/news"),
        ("serper", "serper-search", None),
        ("metaphor", None, "https://api.metaphor.systems/search"), ("metaphor", "metaphor-search", None),
        ("exa", "exa-search", "https://api.exa.ai/search"), ("exa", "exa-contents", "https://api.exa.ai/contents"),
        ("exa", "exa-answer", "https://api.exa.ai/answer"), ("exa", None, None),
        ("firecrawl", "firecrawl-scrape", "https://api.firecrawl.dev/v1/scrape"),
        ("firecrawl", "firecrawl-crawl", "https://api.firecrawl.dev/v1/crawl"),
        ("firecrawl", "firecrawl-extract", "https://api.firecrawl.dev/v1/extract"), ("firecrawl", None, None),
    ):
        add(category, m, endpoint)

    # Unknown models and hosts; legacy rows with nothing to go on.
    for category, m, endpoint in (
        ("openai", "acme-finetune-v3", "https://llm-proxy.acme.internal/v1/chat/completions"),
        ("openai", "gpt-4o", "https://llm-proxy.acme.internal/v1/chat/completions"),
        ("mistral", "internal-ranker-v2", "/llm/rerank"),
        ("openai", "my-deployment", "https://contoso-eu.openai.azure.com/openai/deployments/my-deployment/chat/completions"),
        ("audio", "voice-lab-beta", "/audio-generation/voice-lab"),
        ("image_edit", "bg-remover-v1", "/image-edit/background"),
        ("stability", "upscaler-4x", "/image-generation/upscale"),
        ("gemini", None, None), ("openai", None, ""), ("anthropic", None, None), ("mistral", None, None),
        ("openai", "gpt-4o", "https://ai-gateway.example.net/v1/chat/completions"),
    ):
        add(category, m, endpoint)

    # Legacy case and whitespace variants (the detector normalises; the survey sees distinct values).
    for category, m, endpoint in (
        ("openai", "GPT-4o", "https://API.OpenAI.com/v1/chat/completions"), ("gemini", "Gemini-2.5-Flash", None),
        ("anthropic", " claude-3-5-sonnet-20241022 ", None), ("video", "Alibaba/Wan-2.5/Text-To-Video", "/Video-Generation/WaveSpeed"),
        ("mistral", "OpenAI/GPT-OSS-120B:Groq", None),
    ):
        add(category, m, endpoint)

    seen: set[tuple[str, str, str]] = set()
    unique: list[Triple] = []
    for category, model, endpoint in out:
        key = (category, model or "", endpoint or "")  # what the attribution survey groups by
        if key not in seen:
            seen.add(key)
            unique.append((category, model, endpoint))
    return unique


def build_triples(count: int = DEFAULT_TRIPLES) -> list[Triple]:
    """``count`` triples from the mix (a fixed choice, so every seed sees the same mix)."""
    mix = call_mix()
    if count >= len(mix):
        return mix
    chosen = sorted(random.Random(4242).sample(range(len(mix)), count))
    return [mix[i] for i in chosen]


# --- payloads ----------------------------------------------------------------------

@dataclass(frozen=True)
class Payload:
    """Everything in a row except who, what and when."""

    method: str
    tokens_input: int
    tokens_output: int
    cost_input: int  # units of 1e-8
    cost_output: int
    response_time: float
    status_code: int
    error_message: str | None
    retry_count: int
    request_size: int | None
    response_size: int | None
    created_delay_us: int

    @property
    def tokens_total(self) -> int:
        return self.tokens_input + self.tokens_output

    @property
    def cost_total(self) -> int:
        return self.cost_input + self.cost_output


def _payloads(rng: random.Random, triple: Triple, count: int) -> list[Payload]:
    """``count`` plausible payloads for one triple: its price, latency and error rate."""
    category, model, _ = triple
    name = (model or "").lower()
    per_call = category not in LLM_CATEGORIES or any(k in name for k in ("tts", "dall-e", "image", "whisper", "transcribe"))
    embedding = not per_call and any(k in name for k in ("embed", "rerank", "moderation"))
    error_rate = rng.choice((0.01, 0.02, 0.03, 0.05, 0.08))
    if per_call:
        low, high = {"video": (20_000_000, 320_000_000), "audio": (500_000, 24_000_000),
                     "stability": (1_000_000, 8_000_000), "image_edit": (2_000_000, 8_000_000),
                     "wavespeed": (1_000_000, 150_000_000)}.get(category, (100_000, 2_500_000))
        seconds = {"video": (40.0, 240.0), "stability": (4.0, 20.0), "image_edit": (5.0, 20.0),
                   "audio": (1.0, 9.0), "wavespeed": (3.0, 120.0)}.get(category, (0.4, 4.0))
    else:
        # USD per million tokens, in cents: that is exactly the price per token in 1e-8 units.
        cents_in = rng.choice((2, 5, 10, 15, 25, 30, 40, 80, 125, 250, 300, 1500))
        cents_out = 0 if embedding else cents_in * rng.choice((2, 4, 5, 8))
        seconds = (0.2, 1.0) if embedding else (0.4, 12.0)
    out = []
    for _ in range(count):
        failed = rng.random() < error_rate
        if per_call:
            tin = tout = 0
            cost_in, cost_out = 0, rng.randint(low, high)
        else:
            tin = rng.randint(8, 600) if embedding else int(rng.lognormvariate(7.2, 0.9)) + 50
            tout = 0 if embedding else int(tin * rng.uniform(0.1, 1.2))
            cost_in, cost_out = tin * cents_in, tout * cents_out
        status, message = rng.choice(FAILURES) if failed else (200, None)
        if failed:
            tout, cost_in, cost_out = 0, 0, 0
        rt = round(rng.uniform(*seconds), 3)
        out.append(Payload(
            method="GET" if category in ("serper", "exa") and rng.random() < 0.3 else "POST",
            tokens_input=tin, tokens_output=tout, cost_input=cost_in, cost_output=cost_out,
            response_time=rt, status_code=status, error_message=message,
            retry_count=rng.choice((1, 2, 3)) if failed else (1 if rng.random() < 0.03 else 0),
            request_size=rng.randint(200, 40_000) if rng.random() < 0.9 else None,
            response_size=None if failed else rng.randint(300, 2_000_000 if per_call else 60_000),
            created_delay_us=2 * int(rt * 500_000) + 2_000,  # even: keeps the odd microsecond of the timestamp
        ))
    return out


def _units_text(units: int) -> str:
    """Exact decimal text of a 1e-8 unit count (COPY input for NUMERIC(18, 8))."""
    return f"{units // UNITS}.{units % UNITS:08d}"


def _copy_field(value) -> str:
    """One field of PostgreSQL COPY text format."""
    if value is None:
        return "\\N"
    text = str(value)
    if any(c in text for c in "\\\t\n\r"):
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return text


# --- the generator -------------------------------------------------------------------

@dataclass(frozen=True)
class Summary:
    """What ``generate`` wrote."""

    url: str
    schema: str
    rows: int
    users: int
    heavy_user_id: int
    heavy_email: str
    heavy_rows: int
    triples: int
    start: dt.datetime
    end: dt.datetime
    seconds: float


def heavy_share(rows: int, heavy_rows: int) -> int:
    """The heavy user's rows: ``heavy_rows`` per million rows."""
    return min(rows, round(heavy_rows * rows / 1_000_000))


def normalise_url(url: str) -> str:
    """Accept postgres:// and postgresql:// like the app does."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _draw(rng: random.Random, rows: int, users: int, heavy: int, triples: int, span_us: int) -> list[int]:
    """Every row as one packed int: timestamp offset, user index, triple index, payload index; sorted by time."""
    user_bits = max(1, (users - 1).bit_length())
    low_bits = PAYLOAD_BITS + TRIPLE_BITS + user_bits
    # Global popularity: Zipf (s = 0.9) over a seeded ranking of the triples.
    ranking = list(range(triples))
    rng.shuffle(ranking)
    popularity = [0.0] * triples
    for rank, triple in enumerate(ranking, start=1):
        popularity[triple] = 1.0 / rank**0.9
    cum_popularity = []
    total = 0.0
    for weight in popularity:
        total += weight
        cum_popularity.append(total)

    # Rows per user: the heavy user first, the rest log-normally (a few medium, many light).
    counts = [heavy]
    rest = rows - heavy
    if users > 1:
        weights = [rng.lognormvariate(0, 1.3) for _ in range(users - 1)]
        scale = rest / sum(weights)
        shares = [int(w * scale) for w in weights]
        if rest >= users - 1:
            shares = [max(1, s) for s in shares]
        while sum(shares) > rest:
            i = max(range(len(shares)), key=shares.__getitem__)
            shares[i] -= sum(shares) - rest
        i = 0
        while sum(shares) < rest:
            shares[i % len(shares)] += 1
            i += 1
        counts += shares
    else:
        counts[0] = rows

    keys: list[int] = []
    rand, bits = rng.random, rng.getrandbits
    for user, count in enumerate(counts):
        if count == 0:
            continue
        if user == 0:
            # The heavy user uses the whole mix; with enough rows, every triple at least once.
            forced = list(range(triples)) if count >= triples else []
            rng.shuffle(forced)
            drawn = forced + rng.choices(range(triples), cum_weights=cum_popularity, k=count - len(forced))
        else:
            size = min(triples, rng.randint(15, 120))
            subset: set[int] = set()
            while len(subset) < size:
                subset.update(rng.choices(range(triples), cum_weights=cum_popularity, k=size))
            members = sorted(subset)[:size]
            drawn = rng.choices(members, weights=[popularity[t] for t in members], k=count)
        tag = user << (PAYLOAD_BITS + TRIPLE_BITS)
        for triple in drawn:
            # More traffic recently (products grow); the odd microsecond keeps isoformat() uniform.
            offset = (span_us - 1 - int(span_us * rand() ** 1.3)) | 1
            keys.append((offset << low_bits) | tag | (triple << PAYLOAD_BITS) | bits(PAYLOAD_BITS))
    keys.sort()
    return keys


def generate(
    url: str,
    rows: int,
    *,
    users: int = 200,
    heavy_rows: int = 300_000,
    seed: int = DEFAULT_SEED,
    schema: str = "head",
    end: dt.datetime | None = None,
    triples: int = DEFAULT_TRIPLES,
    log: Callable[[str], None] = print,
) -> Summary:
    """Create the schema with the real migrations and fill it; see the module docstring."""
    from flask_migrate import upgrade

    from portal import create_app
    from portal.extensions import db

    if schema not in REVISIONS:
        raise ValueError(f"schema must be one of {sorted(REVISIONS)}")
    if rows < 1 or users < 1:
        raise ValueError("rows and users must be positive")
    if users > 1 and rows < users:
        raise ValueError(f"{rows} rows cannot give each of {users} users a log")
    url = normalise_url(url)
    started = time.perf_counter()
    end = (end or dt.datetime.now(dt.timezone.utc).replace(minute=0, second=0, microsecond=0)).astimezone(dt.timezone.utc)
    end = end.replace(tzinfo=None, microsecond=0)
    start = end - dt.timedelta(days=365)
    span_us = int((end - start).total_seconds()) * 1_000_000

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench-generate"})
    with app.app_context():
        upgrade(revision=REVISIONS[schema])
        detector = app.extensions["portal.detector"]
        db.session.remove()
        db.engine.dispose()

    mix = build_triples(triples)
    if len(mix) > 1 << TRIPLE_BITS:
        raise ValueError("too many triples")
    rng = random.Random(seed)
    pools = [_payloads(rng, triple, 1 << PAYLOAD_BITS) for triple in mix]
    heavy = heavy_share(rows, heavy_rows) if users > 1 else rows
    keys = _draw(rng, rows, users, heavy, len(mix), span_us)
    log(f"  drew {rows:,} rows ({heavy:,} for the heavy user) over {len(mix)} triples "
        f"in {time.perf_counter() - started:.1f}s")

    engine = sa.create_engine(url)
    postgres = engine.dialect.name == "postgresql"
    try:
        with engine.begin() as conn:
            if conn.scalar(sa.text("SELECT count(*) FROM api_usage_logs")):
                raise RuntimeError(f"{engine.url.render_as_string()} already holds usage logs; use an empty database")
            user_ids = _insert_users(conn, users, start)
        columns = [c for c in LOG_COLUMNS if schema == "head" or c != "actual_provider_name"]
        actual = [detector.detect(*triple) for triple in mix]
        pieces = _pieces(mix, pools, actual if schema == "head" else None, postgres)
        user_bits = max(1, (users - 1).bit_length())
        writer = _copy_writer if postgres else _executemany_writer
        written = writer(engine, columns, _materialise(keys, user_ids, pieces, start, user_bits, postgres),
                         rows, log, started)
        del keys
        if postgres:
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                # What autovacuum would have done long ago on a table this old.
                conn.exec_driver_sql("VACUUM ANALYZE api_usage_logs")
                conn.exec_driver_sql("VACUUM ANALYZE users")
        with engine.connect() as conn:
            distinct = conn.scalar(sa.text(
                "SELECT count(*) FROM (SELECT DISTINCT provider, coalesce(model_used, ''), coalesce(endpoint, '') "
                "FROM api_usage_logs) AS t"))
    finally:
        engine.dispose()
    seconds = time.perf_counter() - started
    summary = Summary(url, schema, written, users, user_ids[0], HEAVY_EMAIL, heavy, int(distinct or 0),
                      start, end, seconds)
    log(f"  wrote {written:,} rows, {users} users (heavy: {HEAVY_EMAIL}, id {user_ids[0]}, {heavy:,} rows), "
        f"{summary.triples} distinct triples, schema {schema}, in {seconds:.1f}s ({written / seconds:,.0f} rows/s)")
    return summary


def _insert_users(conn: sa.Connection, users: int, start: dt.datetime) -> list[int]:
    """The users (the first is the heavy one); their ids in order."""
    from werkzeug.security import generate_password_hash

    from portal.dbtypes import UTCDateTime

    table = sa.table("users", sa.column("email", sa.String), sa.column("password_hash", sa.String),
                     sa.column("is_admin", sa.Boolean), sa.column("created_at", UTCDateTime()))
    # One cheap hash for all: signing in is measured, not password hashing.
    password_hash = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")
    created = start - dt.timedelta(days=30)
    emails = [HEAVY_EMAIL] + [f"user{n:04d}@bench.example.com" for n in range(2, users + 1)]
    conn.execute(table.insert(), [
        {"email": e, "password_hash": password_hash, "is_admin": False, "created_at": created} for e in emails
    ])
    by_email = dict(conn.execute(sa.text("SELECT email, id FROM users")).all())
    return [by_email[e] for e in emails]


def _pieces(mix: list[Triple], pools: list[list[Payload]], actual: list | None, postgres: bool) -> list:
    """Per (triple, payload): the row's middle columns, pre-converted for the driver.

    SQLite: a tuple (money as integer units). PostgreSQL: COPY text (money as exact decimals).
    """
    pieces = []
    for t, (triple, pool) in enumerate(zip(mix, pools)):
        category, model, endpoint = triple
        for p in pool:
            values = [category, endpoint, p.method, model]
            if actual is not None:
                values.append(actual[t])
            money = (p.cost_input, p.cost_output, p.cost_total)
            if postgres:
                money = tuple(_units_text(m) for m in money)
            values += [p.tokens_input, p.tokens_output, p.tokens_total, *money, p.response_time,
                       p.status_code, p.error_message, p.retry_count, p.request_size, p.response_size]
            if postgres:
                pieces.append(("\t".join(_copy_field(v) for v in values), p.created_delay_us))
            else:
                pieces.append((tuple(values), p.created_delay_us))
    return pieces


def _materialise(keys: list[int], user_ids: list[int], pieces: list, start: dt.datetime,
                 user_bits: int, postgres: bool) -> Iterable[list]:
    """Chunks of rows in timestamp order: tuples (SQLite) or COPY lines (PostgreSQL)."""
    low_bits = PAYLOAD_BITS + TRIPLE_BITS + user_bits
    piece_mask = (1 << (PAYLOAD_BITS + TRIPLE_BITS)) - 1
    user_mask = (1 << user_bits) - 1
    delta = dt.timedelta
    for begin in range(0, len(keys), CHUNK):
        chunk = []
        append = chunk.append
        for key in keys[begin:begin + CHUNK]:
            piece, delay = pieces[key & piece_mask]
            user = user_ids[(key >> (PAYLOAD_BITS + TRIPLE_BITS)) & user_mask]
            stamp = start + delta(microseconds=key >> low_bits)
            ts = stamp.isoformat(" ")  # 'YYYY-MM-DD HH:MM:SS.ffffff', SQLAlchemy's SQLite format
            created = (stamp + delta(microseconds=delay)).isoformat(" ")
            if postgres:
                append(f"{user}\t{piece}\t{ts}\t{ts[:7]}\t{created}\n")
            else:
                append((user, *piece, ts, ts[:7], created))
        yield chunk


def _progress(log, written: int, rows: int, started: float) -> None:
    elapsed = time.perf_counter() - started
    log(f"  {written:>10,}/{rows:,} rows  {elapsed:6.1f}s")


def _executemany_writer(engine: sa.Engine, columns: list[str], chunks: Iterable[list], rows: int, log, started) -> int:
    """SQLite: one executemany per chunk, one transaction."""
    table = sa.table("api_usage_logs", *(sa.column(c) for c in columns))
    insert = str(sa.insert(table).compile(dialect=engine.dialect))
    written, next_report = 0, rows // 10
    with engine.begin() as conn:
        # Loading only: the bench database's file settings are untouched (not persistent pragmas).
        conn.exec_driver_sql("PRAGMA synchronous = OFF")
        conn.exec_driver_sql("PRAGMA cache_size = -262144")
        for chunk in chunks:
            conn.exec_driver_sql(insert, chunk)
            written += len(chunk)
            if written >= next_report or written == rows:
                _progress(log, written, rows, started)
                next_report += rows // 10
    return written


def _copy_writer(engine: sa.Engine, columns: list[str], chunks: Iterable[list], rows: int, log, started) -> int:
    """PostgreSQL: COPY ... FROM STDIN through psycopg, one transaction."""
    written, next_report = 0, rows // 10
    with engine.begin() as conn:
        cursor = conn.connection.driver_connection.cursor()
        with cursor.copy(f"COPY api_usage_logs ({', '.join(columns)}) FROM STDIN") as copy:
            for chunk in chunks:
                copy.write("".join(chunk))
                written += len(chunk)
                if written >= next_report or written == rows:
                    _progress(log, written, rows, started)
                    next_report += rows // 10
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, required=True, help="usage logs to write")
    parser.add_argument("--db", required=True, help="SQLAlchemy URL of an empty (or new SQLite) database")
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--heavy-rows", type=int, default=300_000, help="the heavy user's rows per million rows")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--schema", choices=sorted(REVISIONS), default="head")
    parser.add_argument("--triples", type=int, default=DEFAULT_TRIPLES, help="distinct (category, model, endpoint)")
    parser.add_argument("--end", help="ISO date-time the 12 months end at (default: this hour, UTC)")
    args = parser.parse_args(argv)
    end = None
    if args.end:
        end = dt.datetime.fromisoformat(args.end)
        if end.tzinfo is None:
            end = end.replace(tzinfo=dt.timezone.utc)
    generate(args.db, args.rows, users=args.users, heavy_rows=args.heavy_rows, seed=args.seed,
             schema=args.schema, end=end, triples=args.triples, log=lambda s: print(s, flush=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
