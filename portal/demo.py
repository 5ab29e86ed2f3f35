"""Realistic demo usage: several providers behind each category, over four months."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass
from decimal import Decimal

import sqlalchemy as sa
from werkzeug.security import generate_password_hash

from portal.extensions import db
from portal.models import APIUsageLog, User
from portal.usage.recording import record_usage

EIGHT_PLACES = Decimal("0.00000001")
MILLION = Decimal(1_000_000)


@dataclass(frozen=True)
class Scenario:
    """One kind of call a product makes, with its price and behaviour."""

    category: str
    model: str
    endpoint: str
    weight: int
    # Token-priced calls: USD per million tokens; per-call priced: a flat range.
    input_per_m: Decimal = Decimal(0)
    output_per_m: Decimal = Decimal(0)
    per_call: tuple[str, str] | None = None
    tokens: tuple[int, int] = (0, 0)
    seconds: tuple[float, float] = (0.4, 2.0)
    error_rate: float = 0.02
    method: str = "POST"


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("gemini", "gemini-2.5-flash", "/llm/gemini/generate", 30, Decimal("0.30"), Decimal("2.50"), tokens=(400, 4000), seconds=(0.6, 3.5)),
    Scenario("gemini", "gemini-2.5-pro", "/llm/gemini/generate", 6, Decimal("1.25"), Decimal("10"), tokens=(800, 8000), seconds=(2.0, 12.0)),
    Scenario("openai", "gpt-4o-mini", "https://api.openai.com/v1/chat/completions", 14, Decimal("0.15"), Decimal("0.60"), tokens=(300, 3000), seconds=(0.5, 3.0)),
    Scenario("openai", "gpt-4o", "https://contoso-eu.openai.azure.com/openai/deployments/gpt-4o/chat/completions", 5, Decimal("2.50"), Decimal("10"), tokens=(500, 5000), seconds=(1.0, 6.0)),
    Scenario("anthropic", "claude-sonnet-4-20250514", "https://api.anthropic.com/v1/messages", 7, Decimal("3"), Decimal("15"), tokens=(600, 6000), seconds=(1.5, 9.0)),
    Scenario("anthropic", "us.anthropic.claude-3-5-haiku-20241022-v1:0", "https://bedrock-runtime.us-east-1.amazonaws.com/model/invoke", 3, Decimal("0.80"), Decimal("4"), tokens=(300, 3000), seconds=(0.8, 4.0)),
    Scenario("mistral", "openai/gpt-oss-120b:groq", "https://router.huggingface.co/v1/chat/completions", 8, Decimal("0.15"), Decimal("0.75"), tokens=(400, 4000), seconds=(0.3, 1.6)),
    Scenario("mistral", "meta-llama/Llama-3.1-8B-Instruct", "/llm/hf/chat", 5, Decimal("0.05"), Decimal("0.08"), tokens=(300, 2500), seconds=(0.4, 2.2), error_rate=0.05),
    Scenario("video", "alibaba/wan-2.5/text-to-video", "/video-generation/wavespeed", 6, per_call=("0.50", "1.50"), seconds=(40.0, 180.0), error_rate=0.06),
    Scenario("video", "veo-3.0-fast-generate-001", "/video-generation/google", 2, per_call=("1.20", "3.20"), seconds=(60.0, 240.0), error_rate=0.04),
    Scenario("stability", "qwen-image", "/image-generation/wavespeed", 7, per_call=("0.020", "0.030"), seconds=(4.0, 14.0)),
    Scenario("stability", "sd3.5-large", "/image-generation/stability", 5, per_call=("0.065", "0.065"), seconds=(5.0, 16.0)),
    Scenario("image_edit", "flux-kontext-pro", "/image-edit/wavespeed", 4, per_call=("0.040", "0.040"), seconds=(6.0, 20.0)),
    Scenario("audio", "minimax/speech-02-hd", "/audio-generation/wavespeed", 5, per_call=("0.010", "0.090"), seconds=(2.0, 9.0)),
    Scenario("audio", "eleven_multilingual_v2", "https://api.elevenlabs.io/v1/text-to-speech/21m00Tcm4TlvDq8ikWAM", 3, per_call=("0.030", "0.240"), seconds=(1.0, 5.0)),
    Scenario("tavily", "tavily-search", "https://api.tavily.com/search", 5, per_call=("0.008", "0.016"), seconds=(0.8, 3.0)),
    Scenario("exa", "exa-search", "https://api.exa.ai/search", 3, per_call=("0.005", "0.025"), seconds=(0.5, 2.5)),
    Scenario("firecrawl", "firecrawl-scrape", "https://api.firecrawl.dev/v1/scrape", 2, per_call=("0.001", "0.005"), seconds=(1.0, 8.0), error_rate=0.08),
    # A route the catalogue does not know: attributed by its category alone (the admin review page lists it).
    Scenario("video", "studio-upscaler-v2", "/video-generation/upscale", 1, per_call=("0.10", "0.30"), seconds=(10.0, 40.0)),
)

FAILURES = ((429, "Rate limit exceeded; retry after 20s"), (500, "Upstream returned an internal error"),
            (503, "Model is overloaded"), (400, "Request rejected: prompt exceeds the context window"))


def _cost(rng: random.Random, scenario: Scenario, tokens_in: int, tokens_out: int) -> tuple[Decimal, Decimal, Decimal]:
    """Input, output and total cost for one call, exact to eight places."""
    if scenario.per_call:
        low, high = (Decimal(x) for x in scenario.per_call)
        total = (low + (high - low) * Decimal(rng.random())).quantize(EIGHT_PLACES)
        return Decimal(0), total, total
    cost_in = (scenario.input_per_m * tokens_in / MILLION).quantize(EIGHT_PLACES)
    cost_out = (scenario.output_per_m * tokens_out / MILLION).quantize(EIGHT_PLACES)
    return cost_in, cost_out, cost_in + cost_out


def demo_records(rows: int, seed: int, now: dt.datetime, days: int = 120) -> list[dict]:
    """Generate ``rows`` usage records (dicts in the ingestion format), oldest first."""
    rng = random.Random(seed)
    weights = [s.weight for s in SCENARIOS]
    records = []
    for _ in range(rows):
        scenario = rng.choices(SCENARIOS, weights)[0]
        # More traffic recently: products grow.
        age = dt.timedelta(days=days * (rng.random() ** 1.4), seconds=rng.randrange(86_400))
        failed = rng.random() < scenario.error_rate
        tokens_in = rng.randint(*scenario.tokens) if scenario.tokens[1] else 0
        tokens_out = int(tokens_in * rng.uniform(0.2, 0.9)) if tokens_in else 0
        if failed:
            tokens_out = 0
        cost_in, cost_out, total = _cost(rng, scenario, tokens_in, tokens_out)
        if failed:
            cost_in, cost_out, total = Decimal(0), Decimal(0), Decimal(0)
        status, message = rng.choice(FAILURES) if failed else (200, None)
        records.append({
            "provider": scenario.category,
            "model_used": scenario.model,
            "endpoint": scenario.endpoint,
            "method": scenario.method,
            "tokens_input": tokens_in,
            "tokens_output": tokens_out,
            "cost_input": cost_in,
            "cost_output": cost_out,
            "cost_total": total,
            "response_time": round(rng.uniform(*scenario.seconds), 3),
            "status_code": status,
            "error_message": message,
            "retry_count": rng.choice((1, 2, 3)) if failed else (1 if rng.random() < 0.03 else 0),
            "timestamp": now - age,
        })
    records.sort(key=lambda r: r["timestamp"])
    return records


def _ensure_user(email: str, password: str, admin: bool = False) -> User:
    """The user with ``email``, created when missing."""
    user = db.session.scalar(sa.select(User).where(User.email == email))
    if user is None:
        user = User(email=email, password_hash=generate_password_hash(password), is_admin=admin)
        db.session.add(user)
        db.session.commit()
    return user


def seed_demo(email: str, password: str, rows: int, seed: int) -> str:
    """Fill the database with a demo user's usage unless it already has some; return a summary."""
    user = _ensure_user(email, password)
    admin = _ensure_user("admin@example.com", "admin-password", admin=True)
    existing = db.session.scalar(sa.select(sa.func.count()).select_from(APIUsageLog).where(APIUsageLog.user_id == user.id))
    if not existing:
        records = demo_records(rows, seed, dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5))
        for start in range(0, len(records), 1000):
            record_usage(records[start:start + 1000], default_user_id=user.id)
        existing = rows
        created = f"Created {rows:,} demo usage logs"
    else:
        created = f"Demo data already present ({existing:,} logs)"
    return (f"{created} for {email} (user_id {user.id}).\n"
            f"Sign in as {email} / {password}; operators: {admin.email} / admin-password.")
