"""Table-driven tests of the attribution contract (issue 3) and the spec examples (issue 2).

Every expected value is written by hand from the contract, never computed by the detector.
"""

from __future__ import annotations

import pytest

from portal.providers import (
    APIProvider,
    Attribution,
    Detector,
    default_detector,
    detect_actual_provider,
    display_name,
    explain,
    load_catalogue,
    provider_display,
)

P = APIProvider


def case(category, model, endpoint, slug, rule):
    """One table row, with a readable test id."""
    label = " | ".join(str(part) for part in (getattr(category, "value", category), model, endpoint) if part is not None)
    return pytest.param(category, model, endpoint, slug, rule, id=(label or "nothing")[:90])


# --- issue 2, section 2: must hold exactly ---------------------------------------------

SPEC_EXAMPLES = [
    ((P.VIDEO, "alibaba/wan-2.5/text-to-video", "/video-generation/wavespeed"), "wavespeed"),
    ((P.STABILITY, "qwen-image", "/image-generation/wavespeed"), "wavespeed"),
    ((P.AUDIO, "minimax/speech-02-hd", "/audio-generation/wavespeed"), "wavespeed"),
    ((P.GEMINI, "gemini-2.5-flash"), "google"),
    ((P.MISTRAL, "openai/gpt-oss-120b:groq"), "huggingface"),
]


@pytest.mark.parametrize(("arguments", "expected"), SPEC_EXAMPLES)
def test_spec_examples(arguments, expected):
    assert detect_actual_provider(*arguments) == expected


@pytest.mark.parametrize(("arguments", "expected"), SPEC_EXAMPLES)
def test_spec_examples_with_category_as_plain_string(arguments, expected):
    category, *rest = arguments
    assert detect_actual_provider(category.value.upper(), *rest) == expected
    assert detect_actual_provider(f"  {category.value} \n", *rest) == expected


# --- 1a. endpoint host -------------------------------------------------------------------

ENDPOINT_HOSTS = [
    case(None, None, "https://api.openai.com/v1/chat/completions", "openai", "endpoint-host"),
    case(P.OPENAI, "gpt-4o", "https://acme-prod.openai.azure.com/openai/deployments/gpt4o/chat/completions?api-version=2024-06-01", "azure", "endpoint-host"),
    case(P.OPENAI, "gpt-4o", "https://proj-1.services.ai.azure.com/models/chat/completions", "azure", "endpoint-host"),
    case(P.OPENAI, "gpt-4o-mini", "https://acme.cognitiveservices.azure.com/openai/deployments/x/chat/completions", "azure", "endpoint-host"),
    case(P.GEMINI, None, "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent", "google", "endpoint-host"),
    case(P.ANTHROPIC, "claude-3-5-sonnet", "https://us-central1-aiplatform.googleapis.com/v1/projects/p/locations/us-central1/publishers/anthropic/models/claude-3-5-sonnet:rawPredict", "google", "endpoint-host"),
    case(None, None, "https://europe-west4-aiplatform.googleapis.com/v1/projects/p", "google", "endpoint-host"),
    case(P.ANTHROPIC, "claude-3-5-sonnet", "https://bedrock-runtime.us-east-1.amazonaws.com/model/x/invoke", "bedrock", "endpoint-host"),
    case(None, None, "https://bedrock-runtime.us-gov-west-1.amazonaws.com/model/x/converse", "bedrock", "endpoint-host"),
    case(None, None, "https://router.huggingface.co/v1/chat/completions", "huggingface", "endpoint-host"),
    case(None, None, "https://api-inference.huggingface.co/models/gpt2", "huggingface", "endpoint-host"),
    case(None, None, "https://x1y2z3.us-east-1.aws.endpoints.huggingface.cloud/v1/chat", "huggingface", "endpoint-host"),
    case(P.VIDEO, None, "https://api.wavespeed.ai/api/v3/wavespeed-ai/flux-dev", "wavespeed", "endpoint-host"),
    case(None, None, "https://api.stability.ai/v2beta/stable-image/generate/sd3", "stability", "endpoint-host"),
    case(P.OPENAI, "openai/gpt-4o", "https://openrouter.ai/api/v1/chat/completions", "openrouter", "endpoint-host"),
    case(P.OPENAI, "gpt-4o", "https://api.groq.com/openai/v1/chat/completions", "groq", "endpoint-host"),
    case(None, None, "api.groq.com/openai/v1", "groq", "endpoint-host"),
    case(None, None, "https://api.anthropic.com/v1/messages", "anthropic", "endpoint-host"),
    case(None, None, "https://api.mistral.ai/v1/chat/completions", "mistral", "endpoint-host"),
    case(None, None, "https://api.cohere.com/v2/chat", "cohere", "endpoint-host"),
    case(None, None, "https://api.cohere.ai/v1/embed", "cohere", "endpoint-host"),
    case(None, None, "https://api.together.xyz/v1/chat/completions", "together", "endpoint-host"),
    case(None, None, "https://api.fireworks.ai/inference/v1/chat/completions", "fireworks", "endpoint-host"),
    case(None, None, "https://api.deepseek.com/chat/completions", "deepseek", "endpoint-host"),
    case(None, None, "https://api.x.ai/v1/chat/completions", "xai", "endpoint-host"),
    case(None, None, "https://api.perplexity.ai/chat/completions", "perplexity", "endpoint-host"),
    case(None, None, "https://api.replicate.com/v1/predictions", "replicate", "endpoint-host"),
    case(None, None, "https://api.deepinfra.com/v1/openai/chat/completions", "deepinfra", "endpoint-host"),
    case(None, None, "https://api.cerebras.ai/v1/chat/completions", "cerebras", "endpoint-host"),
    case(None, None, "https://api.elevenlabs.io/v1/text-to-speech/voice123", "elevenlabs", "endpoint-host"),
    case(None, None, "https://fal.run/fal-ai/flux/dev", "fal", "endpoint-host"),
    case(None, None, "https://queue.fal.run/fal-ai/flux/dev", "fal", "endpoint-host"),
    case(None, None, "https://api.ai21.com/studio/v1/chat/completions", "ai21", "endpoint-host"),
    case(None, None, "https://api.voyageai.com/v1/embeddings", "voyage", "endpoint-host"),
    case(P.TAVILY, None, "https://api.tavily.com/search", "tavily", "endpoint-host"),
    case(P.SERPER, None, "https://google.serper.dev/search", "serper", "endpoint-host"),
    case(P.EXA, None, "https://api.exa.ai/search", "exa", "endpoint-host"),
    case(P.METAPHOR, None, "https://api.metaphor.systems/search", "metaphor", "endpoint-host"),
    case(P.FIRECRAWL, None, "https://api.firecrawl.dev/v1/scrape", "firecrawl", "endpoint-host"),
    # Spelling variants of the same host.
    case(None, None, "HTTPS://API.OPENAI.COM:443/v1/chat/completions", "openai", "endpoint-host"),
    case(None, None, "https://user:secret@api.groq.com/openai/v1", "groq", "endpoint-host"),
    case(None, None, "https://api.openai.com./v1/embeddings", "openai", "endpoint-host"),
    case(None, None, "//api.anthropic.com/v1/messages", "anthropic", "endpoint-host"),
    case(None, None, "  https://api.openai.com  ", "openai", "endpoint-host"),
    case(None, None, "api.openai.com", "openai", "endpoint-host"),
]


@pytest.mark.parametrize(("category", "model", "endpoint", "slug", "rule"), ENDPOINT_HOSTS)
def test_endpoint_host(category, model, endpoint, slug, rule):
    attribution = explain(category, model, endpoint)
    assert (attribution.slug, attribution.evidence, attribution.rule) == (slug, "endpoint", rule)


HOST_TRAPS = [
    # Whole labels only: these are not the providers they imitate.
    case(None, None, "https://api.openai.com.example.test/v1", None, "none"),
    case(None, None, "https://notopenai.com/v1/chat", None, "none"),
    case(None, None, "https://evil-api.openai.com/v1", None, "none"),
    case(None, None, "https://openai.azure.com/openai/deployments/x", None, "none"),
    case(None, None, "https://acme.openai.azure.com.evil.test/v1", None, "none"),
    case(None, None, "https://aiplatform.googleapis.com.example.test/v1", None, "none"),
    case(None, None, "https://bedrock-runtime.us-east-1.amazonaws.com.example.test/x", None, "none"),
    case(None, None, "https://myapi.wavespeed.ai.example.test/x", None, "none"),
    # google.serper.dev is Serper, not Google.
    case(P.GEMINI, None, "https://google.serper.dev/search", "serper", "endpoint-host"),
    # An unknown host falls through to the model, then the category; its path is not read
    # (an Azure API Management proxy keeps Azure's /openai/deployments/... layout).
    case(P.VIDEO, None, "https://cdn.example.com/video.mp4", "wavespeed", "category-default"),
    case(None, None, "https://portal.example.com/video-generation/wavespeed", None, "none"),
    case(None, None, "https://my-apim.azure-api.net/openai/deployments/gpt4o/chat/completions", None, "none"),
    case(P.OPENAI, "claude-3-haiku", "https://proxy.example.com/v1/chat", "anthropic", "family"),
]


@pytest.mark.parametrize(("category", "model", "endpoint", "slug", "rule"), HOST_TRAPS)
def test_host_traps(category, model, endpoint, slug, rule):
    attribution = explain(category, model, endpoint)
    assert (attribution.slug, attribution.rule) == (slug, rule)


# --- 1b. endpoint route-path segments -------------------------------------------------------

ENDPOINT_PATHS = [
    case(P.VIDEO, None, "/video-generation/wavespeed", "wavespeed", "endpoint-path"),
    case(P.AUDIO, "minimax/voice-clone", "/audio-generation/wavespeed/voice-clone", "wavespeed", "endpoint-path"),
    case(P.STABILITY, "sd3-large", "/image-generation/stability", "stability", "endpoint-path"),
    case(P.MISTRAL, "meta-llama/Llama-3.1-8B-Instruct", "/llm/hf/chat", "huggingface", "endpoint-path"),
    case(P.OPENAI, None, "/llm/gemini/chat", "google", "endpoint-path"),
    case(None, None, "/llm/vertex/chat", "google", "endpoint-path"),
    case(P.IMAGE_EDIT, "flux-kontext-pro", "/image-edit/fal-ai", "fal", "endpoint-path"),
    case(P.VIDEO, None, "video-generation/wavespeed", "wavespeed", "endpoint-path"),
    case(P.VIDEO, None, "/video-generation/wavespeed?job=42#top", "wavespeed", "endpoint-path"),
    case(None, None, "/LLM/HF/Chat", "huggingface", "endpoint-path"),
    # Path beats model and category.
    case(P.GEMINI, "gpt-4o", "/llm/hf/chat", "huggingface", "endpoint-path"),
]


@pytest.mark.parametrize(("category", "model", "endpoint", "slug", "rule"), ENDPOINT_PATHS)
def test_endpoint_path(category, model, endpoint, slug, rule):
    attribution = explain(category, model, endpoint)
    assert (attribution.slug, attribution.evidence, attribution.rule) == (slug, "endpoint", rule)


GENERIC_PATHS = [
    # Generic words name nothing; short aliases only match whole segments.
    case(None, None, "/video-generation", None, "none"),
    case(None, None, "/api/v1/chat/completions", None, "none"),
    case(None, None, "/llm/hfx/chat", None, "none"),
    case(None, None, "/recipes/chefs-model/chat", None, "none"),
    case(None, None, "/llm/wavespeedy/chat", None, "none"),
    case(P.VIDEO, None, "/video-generation", "wavespeed", "category-default"),
    case(P.OPENAI, "gpt-4o", "/api/v1/chat/completions", "openai", "family"),
]


@pytest.mark.parametrize(("category", "model", "endpoint", "slug", "rule"), GENERIC_PATHS)
def test_generic_path_segments_name_nothing(category, model, endpoint, slug, rule):
    attribution = explain(category, model, endpoint)
    assert (attribution.slug, attribution.rule) == (slug, rule)


# --- 2. explicit routes inside the model id ---------------------------------------------------

MODEL_ROUTES = [
    # Gateway prefixes: the first segment decides.
    case(P.OPENAI, "azure/gpt-4o", None, "azure", "gateway-prefix"),
    case(None, "azure_ai/mistral-large-2411", None, "azure", "gateway-prefix"),
    case(P.ANTHROPIC, "bedrock/anthropic.claude-3-5-sonnet-20240620-v1:0", None, "bedrock", "gateway-prefix"),
    case(None, "vertex_ai/gemini-1.5-pro", None, "google", "gateway-prefix"),
    case(None, "gemini/gemini-2.0-flash", None, "google", "gateway-prefix"),
    case(P.OPENAI, "groq/llama-3.1-8b-instant", None, "groq", "gateway-prefix"),
    case(None, "together_ai/meta-llama/Llama-3.3-70B-Instruct-Turbo", None, "together", "gateway-prefix"),
    case(None, "fireworks_ai/accounts/fireworks/models/llama-v3p1-70b-instruct", None, "fireworks", "gateway-prefix"),
    case(P.OPENAI, "openrouter/openai/gpt-4o", None, "openrouter", "gateway-prefix"),
    case(None, "huggingface/meta-llama/Llama-3.1-8B-Instruct", None, "huggingface", "gateway-prefix"),
    case(P.MISTRAL, "mistral/mistral-large-latest", None, "mistral", "gateway-prefix"),
    case(None, "deepseek/deepseek-chat", None, "deepseek", "gateway-prefix"),
    case(None, "xai/grok-2-latest", None, "xai", "gateway-prefix"),
    case(None, "replicate/black-forest-labs/flux-schnell", None, "replicate", "gateway-prefix"),
    case(None, "stability/sd3-large", None, "stability", "gateway-prefix"),
    case(None, "cohere/command-r-plus", None, "cohere", "gateway-prefix"),
    case(None, "perplexity/sonar-pro", None, "perplexity", "gateway-prefix"),
    case(None, "deepinfra/meta-llama/Meta-Llama-3.1-8B-Instruct", None, "deepinfra", "gateway-prefix"),
    case(None, "cerebras/llama3.1-8b", None, "cerebras", "gateway-prefix"),
    case(None, "elevenlabs/eleven_multilingual_v2", None, "elevenlabs", "gateway-prefix"),
    case(P.IMAGE_EDIT, "fal_ai/fal-ai/flux/dev", None, "fal", "gateway-prefix"),
    case(P.OPENAI, "groq/openai/gpt-oss-120b", None, "groq", "gateway-prefix"),
    # AWS Bedrock ids, with region / inference-profile prefixes and :0 versions.
    case(P.ANTHROPIC, "anthropic.claude-3-5-sonnet-20240620-v1:0", None, "bedrock", "bedrock-id"),
    case(P.ANTHROPIC, "us.anthropic.claude-3-5-sonnet-20241022-v2:0", None, "bedrock", "bedrock-id"),
    case(P.ANTHROPIC, "global.anthropic.claude-sonnet-4-5-20250929-v1:0", None, "bedrock", "bedrock-id"),
    case(P.ANTHROPIC, "us-gov.anthropic.claude-3-5-sonnet-20240620-v1:0", None, "bedrock", "bedrock-id"),
    case(None, "eu.amazon.nova-pro-v1:0", None, "bedrock", "bedrock-id"),
    case(None, "apac.amazon.nova-lite-v1:0", None, "bedrock", "bedrock-id"),
    case(None, "amazon.titan-embed-text-v2:0", None, "bedrock", "bedrock-id"),
    case(None, "meta.llama3-1-70b-instruct-v1:0", None, "bedrock", "bedrock-id"),
    case(None, "cohere.command-r-plus-v1:0", None, "bedrock", "bedrock-id"),
    case(P.MISTRAL, "mistral.mistral-large-2407-v1:0", None, "bedrock", "bedrock-id"),
    case(None, "ai21.jamba-1-5-large-v1:0", None, "bedrock", "bedrock-id"),
    case(P.STABILITY, "stability.sd3-large-v1:0", None, "bedrock", "bedrock-id"),
    case(None, "writer.palmyra-x5-v1:0", None, "bedrock", "bedrock-id"),
    case(None, "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-5-sonnet-20241022-v2:0", None, "bedrock", "bedrock-id"),
    # Vertex AI @version and resource names; Gemini API resource names.
    case(P.ANTHROPIC, "claude-sonnet-4@20250514", None, "google", "vertex-version"),
    case(P.GEMINI, "gemini-1.0-pro@001", None, "google", "vertex-version"),
    case(None, "projects/my-proj/locations/us-central1/publishers/google/models/gemini-1.5-pro", None, "google", "vertex-resource"),
    case(P.ANTHROPIC, "publishers/anthropic/models/claude-3-5-sonnet", None, "google", "vertex-resource"),
    case(None, "models/gemini-1.5-pro", None, "google", "gemini-resource"),
    case(None, "accounts/fireworks/models/llama-v3p1-8b-instruct", None, "fireworks", "fireworks-resource"),
    # Hugging Face router suffixes: Hugging Face bills, whoever serves.
    case(P.OPENAI, "openai/gpt-oss-120b:groq", None, "huggingface", "hf-router-suffix"),
    case(None, "meta-llama/Llama-3.1-8B-Instruct:cerebras", None, "huggingface", "hf-router-suffix"),
    case(None, "Qwen/Qwen2.5-72B-Instruct:together", None, "huggingface", "hf-router-suffix"),
    case(None, "deepseek-ai/DeepSeek-R1:fireworks-ai", None, "huggingface", "hf-router-suffix"),
    case(None, "deepseek-ai/DeepSeek-R1:novita", None, "huggingface", "hf-router-suffix"),
    case(None, "meta-llama/Llama-3.3-70B-Instruct:sambanova", None, "huggingface", "hf-router-suffix"),
    case(None, "Qwen/Qwen3-32B:nebius", None, "huggingface", "hf-router-suffix"),
    case(None, "meta-llama/Llama-3.3-70B-Instruct:hyperbolic", None, "huggingface", "hf-router-suffix"),
    case(None, "black-forest-labs/FLUX.1-dev:fal-ai", None, "huggingface", "hf-router-suffix"),
    case(None, "black-forest-labs/FLUX.1-schnell:replicate", None, "huggingface", "hf-router-suffix"),
    case(None, "openai/gpt-oss-20b:cheapest", None, "huggingface", "hf-router-suffix"),
    case(None, "openai/gpt-oss-20b:fastest", None, "huggingface", "hf-router-suffix"),
    case(None, "openai/gpt-oss-20b:preferred", None, "huggingface", "hf-router-suffix"),
    # OpenRouter variants.
    case(None, "meta-llama/llama-3.3-70b-instruct:free", None, "openrouter", "openrouter-variant"),
    case(P.OPENAI, "openai/gpt-4o:nitro", None, "openrouter", "openrouter-variant"),
    case(None, "openai/gpt-4o-mini:floor", None, "openrouter", "openrouter-variant"),
    case(P.ANTHROPIC, "anthropic/claude-3.7-sonnet:thinking", None, "openrouter", "openrouter-variant"),
    case(None, "nousresearch/hermes-3-llama-3.1-405b:extended", None, "openrouter", "openrouter-variant"),
    case(None, "openai/gpt-4o:online", None, "openrouter", "openrouter-variant"),
    case(None, "moonshotai/kimi-k2:exacto", None, "openrouter", "openrouter-variant"),
    case(P.ANTHROPIC, "anthropic/claude-3.5-sonnet:beta", None, "openrouter", "openrouter-variant"),
]


@pytest.mark.parametrize(("category", "model", "endpoint", "slug", "rule"), MODEL_ROUTES)
def test_explicit_routes_in_model_id(category, model, endpoint, slug, rule):
    attribution = explain(category, model, endpoint)
    assert (attribution.slug, attribution.evidence, attribution.rule) == (slug, "model", rule)


MAKER_ORGS = [
    # Exclusive families of the maker's own API.
    case(None, "openai/gpt-4o", None, "openai", "maker-exclusive-family"),
    case(None, "anthropic/claude-3-5-sonnet", None, "anthropic", "maker-exclusive-family"),
    case(None, "google/gemini-2.0-flash-001", None, "google", "maker-exclusive-family"),
    case(None, "x-ai/grok-4", None, "xai", "maker-exclusive-family"),
    # Open weights fall through to the category.
    case(P.MISTRAL, "openai/gpt-oss-120b", None, "huggingface", "category-default"),
    case(None, "openai/gpt-oss-120b", None, None, "none"),
    case(None, "meta-llama/Llama-3.1-8B-Instruct", None, None, "none"),
    case(P.MISTRAL, "meta-llama/Llama-3.1-8B-Instruct", None, "huggingface", "category-default"),
    case(P.OPENAI, "openai/whisper-large-v3", None, "openai", "category-default"),
    case(P.MISTRAL, "openai/whisper-large-v3", None, "huggingface", "category-default"),
    case(P.MISTRAL, "mistralai/Mistral-7B-Instruct-v0.3", None, "huggingface", "category-default"),
    case(P.MISTRAL, "google/gemma-2-9b-it", None, "huggingface", "category-default"),
    case(P.MISTRAL, "Qwen/Qwen2.5-72B-Instruct", None, "huggingface", "category-default"),
    # A maker's org does not lend its exclusivity to another maker's family.
    case(None, "meta-llama/gpt-4o", None, None, "none"),
    # An unknown org is not a route either.
    case(None, "some-lab/gpt-4o", None, None, "none"),
]


@pytest.mark.parametrize(("category", "model", "endpoint", "slug", "rule"), MAKER_ORGS)
def test_maker_org_ids(category, model, endpoint, slug, rule):
    attribution = explain(category, model, endpoint)
    assert (attribution.slug, attribution.rule) == (slug, rule)


# --- 3. model families (at least one case per family in issue 3) -------------------------

FAMILIES = [
    ("gpt-4o", "openai"), ("gpt-4.1-mini", "openai"), ("chatgpt-4o-latest", "openai"), ("o1-mini", "openai"),
    ("o3-mini", "openai"), ("o4-mini", "openai"), ("gpt-image-1", "openai"), ("dall-e-3", "openai"),
    ("tts-1", "openai"), ("tts-1-hd", "openai"), ("whisper-1", "openai"), ("text-embedding-3-large", "openai"),
    ("omni-moderation-latest", "openai"), ("sora-2", "openai"), ("davinci-002", "openai"), ("babbage-002", "openai"),
    ("ft:gpt-4o-mini-2024-07-18:acme::a1b2c3", "openai"), ("ft:o4-mini-2025-04-16:acme::x9", "openai"),
    ("gpt-35-turbo", "azure"), ("gpt-35-turbo-16k", "azure"),
    ("claude-3-5-sonnet-20241022", "anthropic"), ("claude-sonnet-4-20250514", "anthropic"),
    ("gemini-2.5-pro", "google"), ("veo-3.0-generate-001", "google"), ("imagen-4.0-generate-001", "google"),
    ("text-bison", "google"), ("chat-bison", "google"), ("text-embedding-004", "google"),
    ("gemini-embedding-001", "google"), ("gemini-2.5-flash-preview-tts", "google"),
    ("command-r-plus", "cohere"), ("embed-english-v3.0", "cohere"), ("embed-multilingual-v3.0", "cohere"),
    ("rerank-english-v3.0", "cohere"), ("rerank-2", "voyage"),
    ("mistral-large-latest", "mistral"), ("codestral-latest", "mistral"), ("pixtral-large-latest", "mistral"),
    ("ministral-8b-latest", "mistral"), ("open-mistral-nemo", "mistral"), ("magistral-medium-latest", "mistral"),
    ("grok-4", "xai"), ("deepseek-chat", "deepseek"), ("deepseek-reasoner", "deepseek"),
    ("sonar", "perplexity"), ("sonar-pro", "perplexity"), ("jamba-1.5-large", "ai21"), ("j2-ultra", "ai21"),
    ("voyage-3", "voyage"), ("eleven_multilingual_v2", "elevenlabs"),
    ("sd3-large", "stability"), ("sd3.5-large", "stability"), ("stable-diffusion-xl-1024-v1-0", "stability"),
    ("stable-image-ultra", "stability"),
    ("wavespeed-ai/flux-dev", "wavespeed"), ("wavespeed-ai/infinitetalk", "wavespeed"),
    ("alibaba/wan-2.5/text-to-video", "wavespeed"), ("wan-2.5", "wavespeed"), ("qwen-image", "wavespeed"),
    ("qwen-image-edit", "wavespeed"), ("ideogram-v3-turbo", "wavespeed"), ("flux-dev", "wavespeed"),
    ("flux-kontext-pro", "wavespeed"), ("seedance-v1-pro-t2v-480p", "wavespeed"),
    ("bytedance/seedance-v1-pro-t2v-480p", "wavespeed"), ("infinitetalk", "wavespeed"),
    ("minimax/speech-02-hd", "wavespeed"), ("minimax/voice-clone", "wavespeed"),
    ("tencent/HunyuanVideo", "huggingface"),
    ("llama-3.1-8b-instant", "groq"), ("llama-3.3-70b-versatile", "groq"),
    ("meta-llama/Llama-3.3-70B-Instruct-Turbo", "together"),
]


@pytest.mark.parametrize(("model", "slug"), FAMILIES, ids=[model for model, _ in FAMILIES])
def test_model_families(model, slug):
    attribution = explain(None, model)
    assert (attribution.slug, attribution.evidence, attribution.rule) == (slug, "model", "family")


@pytest.mark.parametrize("model", ["gpt-oss-120b", "whisper-large-v3", "llama-3.1-8b", "mistral-7b-instruct-v0.3",
                                   "deepseek-r1", "gemma-2-9b-it", "qwen2.5-72b-instruct", "gpt-oss-120b:groq"])
def test_open_weight_families_decide_nothing(model):
    assert detect_actual_provider(None, model) is None
    assert detect_actual_provider(P.MISTRAL, model) == "huggingface"


# --- traps named in issue 3's "Why" ------------------------------------------------------

TRAPS = [
    # gpt-4o through Azure is Azure, by host or by prefix.
    case(P.OPENAI, "gpt-4o", "https://acme.openai.azure.com/openai/deployments/gpt-4o/chat/completions", "azure", "endpoint-host"),
    case(P.OPENAI, "azure/gpt-4o", None, "azure", "gateway-prefix"),
    # Bedrock's anthropic.claude ids are Bedrock, not Anthropic.
    case(P.ANTHROPIC, "anthropic.claude-3-haiku-20240307-v1:0", None, "bedrock", "bedrock-id"),
    # A gateway prefix is not stripped: Groq, not OpenAI.
    case(P.OPENAI, "groq/llama-3.1-8b-instant", None, "groq", "gateway-prefix"),
    # "hf" never matches inside a word.
    case(None, "chefs-model", None, None, "none"),
    case(P.OPENAI, "chefs-model-hf", "/kitchen/chefs/chat", "openai", "category-default"),
    # tts-1 is OpenAI, even under the gemini category (the family beats the category).
    case(P.GEMINI, "tts-1", None, "openai", "family"),
    case(P.GEMINI, "tts-1-hd", None, "openai", "family"),
    case("gemini", "TTS-1", None, "openai", "family"),
    # The category as a plain string, in any case and spacing.
    case("VIDEO", None, None, "wavespeed", "category-default"),
    case(" video ", None, None, "wavespeed", "category-default"),
    case("Image_Edit\n", None, None, "wavespeed", "category-default"),
    case("mistral", "some-unknown-model", None, "huggingface", "category-default"),
    # Nothing matched and no category: no answer, not a silent default.
    case(None, None, None, None, "none"),
    case("", "", "", None, "none"),
    case("  ", "\n", "\t", None, "none"),
    case(None, "totally-unknown-model", None, None, "none"),
    case("not-a-category", "totally-unknown-model", None, None, "none"),
]


@pytest.mark.parametrize(("category", "model", "endpoint", "slug", "rule"), TRAPS)
def test_traps(category, model, endpoint, slug, rule):
    attribution = explain(category, model, endpoint)
    assert (attribution.slug, attribution.rule) == (slug, rule)


CATEGORY_DEFAULTS = [
    (P.GEMINI, "google"), (P.OPENAI, "openai"), (P.ANTHROPIC, "anthropic"), (P.MISTRAL, "huggingface"),
    (P.WAVESPEED, "wavespeed"), (P.STABILITY, "stability"), (P.VIDEO, "wavespeed"), (P.AUDIO, "wavespeed"),
    (P.IMAGE_EDIT, "wavespeed"), (P.TAVILY, "tavily"), (P.SERPER, "serper"), (P.METAPHOR, "metaphor"),
    (P.FIRECRAWL, "firecrawl"), (P.EXA, "exa"),
]


@pytest.mark.parametrize(("category", "slug"), CATEGORY_DEFAULTS, ids=[c.value for c, _ in CATEGORY_DEFAULTS])
def test_category_defaults_say_they_are_a_guess(category, slug):
    attribution = explain(category)
    assert (attribution.slug, attribution.evidence, attribution.rule) == (slug, "category", "category-default")
    assert "category alone" in attribution.reason
    assert detect_actual_provider(category.value.upper()) == slug


def test_letter_case_and_whitespace_do_not_matter():
    assert detect_actual_provider(None, "GPT-4O") == "openai"
    assert detect_actual_provider(None, "  Gemini-2.5-Flash \n") == "google"
    assert detect_actual_provider(None, "OpenAI/GPT-OSS-120B:Groq") == "huggingface"
    assert detect_actual_provider(None, "US.Anthropic.Claude-3-5-Sonnet-20241022-V2:0") == "bedrock"
    assert detect_actual_provider(None, None, "HTTPS://API.WAVESPEED.AI/api/v3/x") == "wavespeed"


def test_non_string_arguments_count_as_missing():
    assert detect_actual_provider(123, 4.5, b"https://api.openai.com") is None
    assert detect_actual_provider(P.VIDEO, 42, ["/llm/hf"]) == "wavespeed"
    assert detect_actual_provider(object(), "gpt-4o", 3j) == "openai"


# --- explain(): evidence, rule and reason per kind ---------------------------------------

def test_explain_endpoint_host_reason():
    assert explain(P.VIDEO, "gpt-4o", "https://api.wavespeed.ai/api/v3/x") == Attribution(
        slug="wavespeed",
        evidence="endpoint",
        rule="endpoint-host",
        reason="Endpoint host api.wavespeed.ai belongs to WaveSpeed.",
        display_name="WaveSpeed",
    )


def test_explain_endpoint_path_reason():
    attribution = explain(P.MISTRAL, None, "/llm/hf/chat")
    assert attribution.reason == "Endpoint path segment 'hf' names HuggingFace."
    assert attribution.display_name == "HuggingFace"


def test_explain_category_reason_is_exact():
    assert explain(P.VIDEO).reason == (
        "No endpoint or model evidence; category 'video' defaults to WaveSpeed (a guess from the category alone)."
    )


def test_explain_category_reason_names_what_was_tried():
    reason = explain(P.MISTRAL, "openai/gpt-oss-120b").reason
    assert reason.startswith("No endpoint or model evidence (model 'openai/gpt-oss-120b' names the model maker 'openai'")
    assert reason.endswith("category 'mistral' defaults to HuggingFace (a guess from the category alone).")


@pytest.mark.parametrize(
    ("arguments", "evidence", "rule", "fragments"),
    [
        ((None, "groq/llama-3.1-8b-instant"), "model", "gateway-prefix", ["'groq/'", "Groq"]),
        ((None, "us.anthropic.claude-3-5-sonnet-20241022-v2:0"), "model", "bedrock-id", ["AWS Bedrock model id", "AWS Bedrock"]),
        ((None, "claude-sonnet-4@20250514"), "model", "vertex-version", ["@version", "Google"]),
        ((None, "models/gemini-1.5-pro"), "model", "gemini-resource", ["Gemini API", "Google"]),
        ((None, "openai/gpt-oss-120b:groq"), "model", "hf-router-suffix", ["Hugging Face bills", "HuggingFace"]),
        ((None, "openai/gpt-4o:free"), "model", "openrouter-variant", ["OpenRouter"]),
        ((None, "openai/gpt-4o"), "model", "maker-exclusive-family", ["maker 'openai'", "only by OpenAI's own API"]),
        ((None, "gemini-2.5-flash"), "model", "family", ["'gemini-*'", "Google"]),
        ((P.GEMINI, "tts-1"), "model", "family", ["'tts-1*'", "OpenAI"]),
    ],
)
def test_explain_model_rules(arguments, evidence, rule, fragments):
    attribution = explain(*arguments)
    assert (attribution.evidence, attribution.rule) == (evidence, rule)
    for fragment in fragments:
        assert fragment in attribution.reason


def test_explain_without_any_evidence():
    attribution = explain()
    assert (attribution.slug, attribution.evidence, attribution.rule, attribution.display_name) == (None, None, "none", None)
    assert "unknown" in attribution.reason
    assert "not a known category" in explain("podcasts").reason


def test_attribution_is_frozen():
    with pytest.raises(AttributeError):
        explain(P.VIDEO).slug = "openai"  # type: ignore[misc]


# --- display names ---------------------------------------------------------------------------

DISPLAY_NAMES = {
    "openai": "OpenAI", "azure": "Azure OpenAI", "anthropic": "Anthropic", "google": "Google",
    "bedrock": "AWS Bedrock", "huggingface": "HuggingFace", "wavespeed": "WaveSpeed", "stability": "Stability AI",
    "mistral": "Mistral AI", "cohere": "Cohere", "groq": "Groq", "together": "Together AI",
    "fireworks": "Fireworks AI", "deepseek": "DeepSeek", "xai": "xAI", "perplexity": "Perplexity",
    "openrouter": "OpenRouter", "replicate": "Replicate", "deepinfra": "DeepInfra", "cerebras": "Cerebras",
    "elevenlabs": "ElevenLabs", "fal": "fal.ai", "ai21": "AI21 Labs", "voyage": "Voyage AI", "tavily": "Tavily",
    "serper": "Serper", "metaphor": "Metaphor", "firecrawl": "Firecrawl", "exa": "Exa",
}


def test_every_issue_slug_exists():
    assert set(DISPLAY_NAMES) <= default_detector().slugs


@pytest.mark.parametrize(("slug", "name"), sorted(DISPLAY_NAMES.items()))
def test_display_names(slug, name):
    assert display_name(slug) == name


def test_every_catalogue_slug_has_a_display_name():
    for slug in default_detector().slugs:
        name = display_name(slug)
        assert isinstance(name, str) and name.strip()


def test_display_name_edges():
    assert display_name(None) is None
    assert display_name("acme-llm") == "acme-llm"
    assert display_name(" WaveSpeed ") == "WaveSpeed"


@pytest.mark.parametrize(
    ("slug", "category", "label"),
    [
        ("wavespeed", P.VIDEO, "WaveSpeed"),
        ("huggingface", "mistral", "HuggingFace"),
        (None, P.MISTRAL, "HuggingFace"),
        (None, "mistral", "HuggingFace"),
        (None, P.GEMINI, "Google"),
        ("", P.VIDEO, "WaveSpeed"),
        ("  ", "IMAGE_EDIT", "WaveSpeed"),
        (None, None, "Unknown"),
        (None, "", "Unknown"),
        (None, 17, "Unknown"),
        ("acme-llm", P.VIDEO, "acme-llm"),
        (None, "some_new_category", "Some new category"),
    ],
)
def test_provider_display(slug, category, label):
    assert provider_display(slug, category) == label


# --- the cache --------------------------------------------------------------------------------

def test_cache_is_keyed_on_normalised_inputs():
    detector = Detector(load_catalogue())
    first = detector.explain(P.VIDEO, "GPT-4o", None)
    again = detector.explain(" video ", "gpt-4o\n", "   ")
    assert first == again
    info = detector.cache_info()
    assert (info.hits, info.misses, info.currsize) == (1, 1, 1)


def test_long_inputs_bypass_the_cache():
    detector = Detector(load_catalogue())
    assert detector.detect(P.VIDEO, "x" * 5000) == "wavespeed"
    assert detector.cache_info().currsize == 0


def test_uncached_detector_agrees():
    catalogue = load_catalogue()
    uncached = Detector(catalogue, cache_size=0)
    assert uncached.cache_info() is None
    for category, model, endpoint, slug, _rule in (row.values for row in MODEL_ROUTES + TRAPS + ENDPOINT_HOSTS):
        assert uncached.detect(category, model, endpoint) == slug
        assert default_detector().detect_uncached(category, model, endpoint) == slug


@pytest.mark.parametrize(
    "model, expected, rule",
    [
        # A router's own ':variant' outranks a first segment that is both an org and a gateway prefix.
        ("deepseek/deepseek-chat:free", "openrouter", "openrouter-variant"),
        ("cohere/command-r:nitro", "openrouter", "openrouter-variant"),
        ("mistral/mistral-large:floor", "openrouter", "openrouter-variant"),
        # Without a suffix the prefix still decides.
        ("deepseek/deepseek-chat", "deepseek", "gateway-prefix"),
        ("groq/llama-3.1-8b-instant", "groq", "gateway-prefix"),
    ],
)
def test_router_suffix_outranks_gateway_prefix(model, expected, rule):
    attribution = explain(None, model, None)
    assert (attribution.slug, attribution.rule) == (expected, rule)
