"""Gemini generateContent as the sandbox answers it:
``POST /v1beta/models/{model}:generateContent``."""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from services.sandbox.limits import RateLimitSnapshot
from services.sandbox.pipeline import Completion, LlmCall, RateLimitCause, serve_llm_request
from services.sandbox.state import INVALID_KEY_PREFIX, SandboxState

__all__ = ["GeminiWire", "build_gemini_router", "json_schema_from_openapi"]

_QUOTA_FAILURE = "type.googleapis.com/google.rpc.QuotaFailure"
_RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
_ERROR_INFO = "type.googleapis.com/google.rpc.ErrorInfo"
_METRIC = "generativelanguage.googleapis.com/generate_content_paid_tier"
_DOCS = "https://ai.google.dev/gemini-api/docs/rate-limits"
_NO_KEY = (
    "Method doesn't allow unregistered callers (callers without established identity). "
    "Please use API Key or other form of API consumer identity to call this API."
)
# The fields of Gemini's Schema object; any other key in responseSchema is a 400.
_SCHEMA_FIELDS = frozenset(
    {
        "type",
        "format",
        "title",
        "description",
        "nullable",
        "enum",
        "maxItems",
        "minItems",
        "properties",
        "required",
        "minProperties",
        "maxProperties",
        "minLength",
        "maxLength",
        "pattern",
        "example",
        "anyOf",
        "propertyOrdering",
        "default",
        "items",
        "minimum",
        "maximum",
    }
)
_SERVER_ERRORS = {
    503: ("UNAVAILABLE", "The model is overloaded. Please try again later."),
    504: ("DEADLINE_EXCEEDED", "Deadline expired before operation could complete."),
}
_INTERNAL = (
    "INTERNAL",
    "An internal error has occurred. Please retry or report in "
    "https://developers.generativeai.google/guide/troubleshooting",
)


def build_gemini_router(state: SandboxState) -> APIRouter:
    """The generateContent endpoint, on ``state``."""
    router = APIRouter()
    wire = GeminiWire()

    @router.post("/v1beta/models/{target}")
    async def generate_content(request: Request) -> Response:
        return await serve_llm_request(request, state, wire)

    return router


class GeminiWire:
    """Gemini's request checks, bodies and errors (429s carry RetryInfo and QuotaFailure)."""

    provider = "gemini"

    def refuse_key(self, request: Request) -> Response | None:
        key = (request.headers.get("x-goog-api-key") or request.query_params.get("key", "")).strip()
        if not key:
            return _error(403, "PERMISSION_DENIED", _NO_KEY)
        if key.startswith(INVALID_KEY_PREFIX):
            info = {
                "@type": _ERROR_INFO,
                "reason": "API_KEY_INVALID",
                "domain": "googleapis.com",
                "metadata": {"service": "generativelanguage.googleapis.com"},
            }
            message = "API key not valid. Please pass a valid API key."
            return _error(400, "INVALID_ARGUMENT", message, [info])
        return None

    def read(self, request: Request, body: Any) -> LlmCall | Response:
        model, _, method = str(request.path_params.get("target", "")).partition(":")
        if method != "generateContent" or not model:
            return _error(404, "NOT_FOUND", f"models/{model} is not found for method {method}.")
        if not isinstance(body, dict):
            return _invalid("Invalid JSON payload received. Unexpected token.")
        contents = body.get("contents")
        if not isinstance(contents, list) or not contents:
            return _invalid("* GenerateContentRequest.contents: contents is not specified\n")
        messages: list[dict[str, Any]] = []
        system = body.get("systemInstruction")
        if isinstance(system, Mapping):
            messages.append({"role": "system", "content": _text(system)})
        for content in contents:
            role = content.get("role", "user") if isinstance(content, Mapping) else None
            if role not in ("user", "model"):
                return _invalid("Please use a valid role: user, model.")
            text = _text(content) if isinstance(content, Mapping) else ""
            messages.append({"role": "assistant" if role == "model" else "user", "content": text})
        config = body.get("generationConfig")
        config = config if isinstance(config, Mapping) else {}
        temperature = config.get("temperature", 1)
        if isinstance(temperature, int | float) and not 0 <= temperature <= 2:
            return _invalid(
                "* GenerateContentRequest.generation_config.temperature: "
                "must be in the range [0.0, 2.0]\n"
            )
        schema = config.get("responseSchema")
        if schema is not None:
            unknown = _unknown_field(schema, "generation_config.response_schema")
            if unknown is not None:
                return _invalid(unknown)
        max_tokens = config.get("maxOutputTokens")
        return LlmCall(
            model=model,
            messages=messages,
            schema=json_schema_from_openapi(schema) if isinstance(schema, Mapping) else None,
            json_mode=config.get("responseMimeType") == "application/json",
            max_tokens=max_tokens if isinstance(max_tokens, int) else None,
        )

    def quota_exhausted(self, call: LlmCall) -> Response:
        metric = f"{_METRIC}_requests"
        message = (
            "You exceeded your current quota, please check your plan and billing details. "
            f"For more information on this error, head to: {_DOCS}.\n"
            f"* Quota exceeded for metric: {metric}, limit: 0, model: {call.model}"
        )
        quota = _quota_failure(metric, "GenerateRequestsPerMinutePerProjectPerModel", 0, call)
        return _error(429, "RESOURCE_EXHAUSTED", message, [quota, _retry_info(60)])

    def rate_limited(
        self, call: LlmCall, cause: RateLimitCause, wait_s: float, limits: RateLimitSnapshot
    ) -> Response:
        if cause == "tokens":
            metric, limit = f"{_METRIC}_input_token_count", limits.limit_tokens
            quota_id = "GenerateContentPaidTierInputTokensPerModelPerMinute"
        else:
            metric, limit = f"{_METRIC}_requests", limits.limit_requests
            quota_id = "GenerateRequestsPerMinutePerProjectPerModel"
        # Storms answer with exactly the configured hint; limits with whole seconds, as Gemini.
        delay_s = wait_s if cause == "storm" else float(max(1, math.ceil(wait_s)))
        message = (
            "You exceeded your current quota, please check your plan and billing details. "
            f"For more information on this error, head to: {_DOCS}.\n"
            f"* Quota exceeded for metric: {metric}, limit: {limit}, model: {call.model}\n"
            f"Please retry in {delay_s:g}s."
        )
        quota = _quota_failure(metric, quota_id, limit, call)
        return _error(429, "RESOURCE_EXHAUSTED", message, [quota, _retry_info(delay_s)])

    def server_error(self, status: int) -> Response:
        state, message = _SERVER_ERRORS.get(status, _INTERNAL)
        return _error(status, state, message)

    def success(
        self, call: LlmCall, completion: Completion, limits: RateLimitSnapshot
    ) -> tuple[dict[str, Any], dict[str, str]]:
        body = {
            "candidates": [
                {
                    "content": {"parts": [{"text": completion.text}], "role": "model"},
                    "finishReason": "MAX_TOKENS" if completion.truncated else "STOP",
                    "index": 0,
                }
            ],
            "usageMetadata": {
                "promptTokenCount": completion.tokens_in,
                "candidatesTokenCount": completion.tokens_out,
                "totalTokenCount": completion.tokens_in + completion.tokens_out,
            },
            "modelVersion": call.model,
            "responseId": uuid.uuid4().hex[:22],
        }
        return body, {}


def json_schema_from_openapi(schema: Mapping[str, Any]) -> dict[str, Any]:
    """Gemini's OpenAPI-style ``responseSchema`` as the JSON Schema the generator reads."""
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "type" and isinstance(value, str):
            out["type"] = value.lower()
        elif key == "properties" and isinstance(value, Mapping):
            out[key] = {name: json_schema_from_openapi(sub) for name, sub in value.items()}
        elif key == "items" and isinstance(value, Mapping):
            out[key] = json_schema_from_openapi(value)
        elif key == "anyOf" and isinstance(value, list):
            out[key] = [json_schema_from_openapi(s) for s in value if isinstance(s, Mapping)]
        elif key not in ("nullable", "propertyOrdering", "format"):
            out[key] = value
    if schema.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


def _unknown_field(schema: Any, where: str) -> str | None:
    """Gemini's 400 for the first key its Schema object does not have, or None."""
    if not isinstance(schema, Mapping):
        return None
    for key in schema:
        if key not in _SCHEMA_FIELDS:
            return (
                f"Invalid JSON payload received. Unknown name \"{key}\" at '{where}': "
                "Cannot find field."
            )
    children: list[tuple[str, Any]] = []
    properties = schema.get("properties")
    if isinstance(properties, Mapping):
        children += [
            (f"{where}.properties[{i}].value", s) for i, s in enumerate(properties.values())
        ]
    if isinstance(schema.get("anyOf"), list):
        children += [(f"{where}.any_of[{i}]", s) for i, s in enumerate(schema["anyOf"])]
    if "items" in schema:
        children.append((f"{where}.items", schema["items"]))
    for path, sub in children:
        problem = _unknown_field(sub, path)
        if problem is not None:
            return problem
    return None


def _text(content: Mapping[str, Any]) -> str:
    parts = content.get("parts")
    return "\n".join(
        str(part.get("text", ""))
        for part in (parts if isinstance(parts, list) else [])
        if isinstance(part, Mapping)
    )


def _quota_failure(metric: str, quota_id: str, value: int, call: LlmCall) -> dict[str, Any]:
    violation = {
        "quotaMetric": metric,
        "quotaId": quota_id,
        "quotaDimensions": {"location": "global", "model": call.model},
        "quotaValue": str(value),
    }
    return {"@type": _QUOTA_FAILURE, "violations": [violation]}


def _retry_info(seconds: float) -> dict[str, Any]:
    return {"@type": _RETRY_INFO, "retryDelay": f"{round(seconds, 3):g}s"}


def _invalid(message: str) -> JSONResponse:
    return _error(400, "INVALID_ARGUMENT", message)


def _error(
    status: int, state: str, message: str, details: list[dict[str, Any]] | None = None
) -> JSONResponse:
    """An error in Google's shape: ``{"error": {"code", "message", "status", "details"}}``."""
    error: dict[str, Any] = {"code": status, "message": message, "status": state}
    if details:
        error["details"] = details
    return JSONResponse({"error": error}, status_code=status)
