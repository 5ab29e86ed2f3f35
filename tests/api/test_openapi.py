"""The OpenAPI document covers every API route, and real responses match it."""

from __future__ import annotations

import re

import jsonschema
import pytest

from portal.api.schemas import Problem, UsageLogBatchOut, UsageLogList, UsageLogOut
from portal.usage import record_usage


def openapi_path(rule: str) -> str:
    """Flask's ``<int:id>`` -> OpenAPI's ``{id}``."""
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule)


def test_document_lists_every_api_route(client, app):
    doc = client.get("/api/openapi.json").json
    assert doc["openapi"].startswith("3.1")
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = doc["paths"].get(openapi_path(rule.rule))
        assert path is not None, f"{rule.rule} is not documented"
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert method.lower() in path, f"{method} {rule.rule} is not documented"


def test_document_schemas_are_valid_json_schema(client):
    doc = client.get("/api/openapi.json").json
    for name, schema in doc["components"]["schemas"].items():
        jsonschema.Draft202012Validator.check_schema(schema)


def test_responses_match_the_documented_models(client, make_user, token_for):
    user = make_user()
    headers = token_for(user)
    record_usage({"user_id": user.id, "provider": "video", "model_used": "alibaba/wan-2.5/text-to-video",
                  "endpoint": "/video-generation/wavespeed", "cost_total": "0.5", "status_code": 200})
    UsageLogList.model_validate(client.get("/api/subscription/usage-logs", headers=headers).json)
    one = client.post("/api/subscription/usage-logs", headers=headers, json={"provider": "openai"})
    UsageLogOut.model_validate(one.json)
    batch = client.post("/api/subscription/usage-logs", headers=headers, json=[{"provider": "openai"}])
    UsageLogBatchOut.model_validate(batch.json)
    Problem.model_validate(client.get("/api/subscription/usage-logs?limit=x", headers=headers).json)
    Problem.model_validate(client.get("/api/subscription/usage-logs").json)


@pytest.mark.parametrize("status_field", ["status"])
def test_documented_enum_matches_validator(client, status_field):
    doc = client.get("/api/openapi.json").json
    params = {p["name"]: p for p in doc["paths"]["/api/subscription/usage-logs"]["get"]["parameters"]}
    assert params[status_field]["schema"]["anyOf"][0]["enum"] == ["success", "failed"]
    assert set(doc["components"]["schemas"]["APIProvider"]["enum"]) >= {"video", "mistral", "image_edit"}
