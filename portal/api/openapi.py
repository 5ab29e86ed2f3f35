"""The OpenAPI 3.1 document, generated from the pydantic models that validate.

Parameters come from ``LogFilters``/``Paging``/``Subject``, the request body
from ``UsageRecordIn``, responses from ``portal.api.schemas``: one source for
both checking and documenting.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, jsonify
from pydantic import BaseModel

from portal.api import bp
from portal.analytics.ranges import RangeQuery
from portal.api.schemas import AnalyticsOut, Problem, UsageLogBatchOut, UsageLogList, UsageLogOut
from portal.auth.policy import PUBLIC, access
from portal.usage.filters import BLANK_PATTERN, LogFilters, Paging, Subject
from portal.usage.validation import UsageRecordIn

REF = "#/components/schemas/{model}"
PROBLEM = "application/problem+json"


def _schema(model: type[BaseModel], components: dict[str, Any], mode: str = "validation") -> dict[str, Any]:
    """A $ref to ``model``, registering it and its definitions under components."""
    schema = model.model_json_schema(ref_template=REF, mode=mode)
    components.update(schema.pop("$defs", {}))
    name = schema.get("title", model.__name__)
    components[name] = schema
    return {"$ref": REF.format(model=name)}


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    """An omitted query parameter is how a client says null; document the non-null form."""
    options = schema.get("anyOf")
    if options:
        rest = [option for option in options if option.get("type") != "null"]
        if len(rest) == 1:
            merged = {**schema, **rest[0]}
            merged.pop("anyOf")
            merged.pop("default", None)
            return merged
    return {k: v for k, v in schema.items() if k != "default" or v is not None}


def _parameters(components: dict[str, Any], *models: type[BaseModel]) -> list[dict[str, Any]]:
    """Query parameters from the fields of ``models``."""
    params = []
    for model in models:
        schema = model.model_json_schema(ref_template=REF)
        components.update(schema.get("$defs", {}))
        for name, prop in schema["properties"].items():
            description = prop.pop("description", None)
            prop.pop("title", None)
            # Every parameter accepts an empty value as "not given" (HTML forms send blank fields).
            schema_ = {"anyOf": [_without_null(prop), {"type": "string", "pattern": BLANK_PATTERN}]}
            param = {"name": name, "in": "query", "required": False, "schema": schema_}
            param["description"] = ((description or "") + " Empty (or only ASCII white space) means not given.").strip()
            params.append(param)
    return params


def _problems(*statuses: int) -> dict[str, Any]:
    """Error responses, all in the problem+json shape."""
    words = {400: "Invalid input (each bad field named in `errors`)", 401: "Not authenticated",
             403: "Forbidden", 404: "Not found", 405: "Method not allowed", 413: "Body too large",
             500: "Unexpected error (quote `request_id`)"}
    return {
        str(status): {"description": words[status], "content": {PROBLEM: {"schema": {"$ref": REF.format(model="Problem")}}}}
        for status in statuses
    }


def build_document(max_batch: int, max_page: int) -> dict[str, Any]:
    """Assemble the OpenAPI 3.1 document."""
    components: dict[str, Any] = {}
    _schema(Problem, components)
    log_ref = _schema(UsageLogOut, components, mode="serialization")
    list_ref = _schema(UsageLogList, components, mode="serialization")
    batch_ref = _schema(UsageLogBatchOut, components, mode="serialization")
    record_ref = _schema(UsageRecordIn, components)
    analytics_ref = _schema(AnalyticsOut, components, mode="serialization")
    read_security = [{"bearerAuth": []}, {"sessionCookie": []}]
    list_params = _parameters(components, LogFilters, Paging, Subject)
    for param in list_params:
        if param["name"] == "limit":
            param["description"] += f" Maximum {max_page}."

    paths = {
        "/api/subscription/usage-logs": {
            "get": {
                "operationId": "listUsageLogs",
                "summary": "List usage logs, newest first",
                "description": "The caller's own logs; administrators may pass `user_id`. Tokens need the `read` scope.",
                "security": read_security,
                "parameters": list_params,
                "responses": {
                    "200": {"description": "A page of logs", "content": {"application/json": {"schema": list_ref}}},
                    **_problems(400, 401, 403, 404),
                },
            },
            "post": {
                "operationId": "recordUsage",
                "summary": "Record one usage record, or a batch (all or nothing)",
                "description": "Bearer token with the `ingest` scope. `user_id` defaults to the token's user; only "
                               "administrators may record for others. Unknown fields are rejected. Decimal numbers "
                               "are read exactly. Records with an `idempotency_key` already stored are not stored again.",
                "security": [{"bearerAuth": []}],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"oneOf": [
                        record_ref,
                        {"type": "array", "items": record_ref, "minItems": 1, "maxItems": max_batch},
                    ]}}},
                },
                "responses": {
                    "201": {"description": "Stored (one object for one record, a batch result for an array)",
                            "content": {"application/json": {"schema": {"oneOf": [log_ref, batch_ref]}}}},
                    "200": {"description": "Every record was a retry of a stored idempotency key; nothing new stored",
                            "content": {"application/json": {"schema": {"oneOf": [log_ref, batch_ref]}}}},
                    **_problems(400, 401, 403, 413),
                },
            },
        },
        "/api/subscription/usage-logs.csv": {
            "get": {
                "operationId": "exportUsageLogsCsv",
                "summary": "Export every log matching the filters as CSV, newest first",
                "description": "Streamed. Timestamps are UTC ISO 8601; money is exact decimals; text cells that a "
                               "spreadsheet would run as a formula are prefixed with a quote.",
                "security": read_security,
                "parameters": _parameters(components, LogFilters, Subject),
                "responses": {
                    "200": {"description": "CSV with a header row", "content": {"text/csv": {"schema": {"type": "string"}}}},
                    **_problems(400, 401, 403, 404),
                },
            }
        },
        "/api/subscription/analytics/providers": {
            "get": {
                "operationId": "providerAnalytics",
                "summary": "The dashboard's numbers: cost, calls, performance and advice by actual provider",
                "description": "Same auth as listing logs (scope `read`). Money and rates are exact decimal strings; "
                               "the providers' costs add up exactly to `providers_total.cost`.",
                "security": read_security,
                "parameters": _parameters(components, RangeQuery, Subject),
                "responses": {
                    "200": {"description": "Analytics", "content": {"application/json": {"schema": analytics_ref}}},
                    **_problems(400, 401, 403, 404),
                },
            }
        },
        "/api/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "security": [],
                "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}},
            }
        },
    }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Provider Billing Portal API",
            "version": "1.0.0",
            "description": "Usage logs attributed to the provider that actually served each call. "
                           "Errors are RFC 9457 problem documents. Timestamps are UTC; money is an exact decimal string.",
        },
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "description": "A personal API token (`flask tokens create EMAIL`)."},
                "sessionCookie": {"type": "apiKey", "in": "cookie", "name": "session", "description": "Same-origin browser session."},
            },
        },
    }


@bp.get("/openapi.json")
@access(PUBLIC)
def openapi_document():
    """Serve the OpenAPI document."""
    cache = current_app.extensions.setdefault("portal.openapi", {})
    if "document" not in cache:
        cache["document"] = build_document(current_app.config["INGEST_MAX_BATCH"], current_app.config["API_MAX_PAGE_SIZE"])
    return jsonify(cache["document"])
