"""Anthropic messages as the sandbox answers them: ``POST /v1/messages``."""

from __future__ import annotations

import math
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from services.sandbox.limits import RateLimitSnapshot
from services.sandbox.pipeline import Completion, LlmCall, RateLimitCause, serve_llm_request
from services.sandbox.state import INVALID_KEY_PREFIX, SandboxState

__all__ = ["AnthropicWire", "build_anthropic_router"]

_INVALID = "invalid_request_error"
_RATE_LIMITS_DOC = "https://docs.claude.com/en/api/rate-limits"
# Structured outputs refuse these keywords (Anthropic's documented JSON Schema limits).
_UNSUPPORTED = (
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
)
_SCHEMA_CHILDREN = ("properties", "$defs", "definitions")


def build_anthropic_router(state: SandboxState) -> APIRouter:
    """The messages endpoint, on ``state``."""
    router = APIRouter()
    wire = AnthropicWire()

    @router.post("/v1/messages")
    async def messages(request: Request) -> Response:
        return await serve_llm_request(request, state, wire)

    return router


class AnthropicWire:
    """Anthropic's request checks, bodies, errors and ``anthropic-ratelimit-*`` headers."""

    provider = "anthropic"

    def refuse_key(self, request: Request) -> Response | None:
        key = request.headers.get("x-api-key", "").strip()
        if not key:
            return _error(401, "authentication_error", "x-api-key header is required")
        if key.startswith(INVALID_KEY_PREFIX):
            return _error(401, "authentication_error", "invalid x-api-key")
        return None

    def read(self, request: Request, body: Any) -> LlmCall | Response:
        if not request.headers.get("anthropic-version"):
            return _error(400, _INVALID, "anthropic-version: header is required")
        if not isinstance(body, dict):
            return _error(400, _INVALID, "There was an error parsing the body of your request.")
        problem = _body_problem(body)
        if problem is not None:
            return _error(400, _INVALID, problem)
        messages: list[dict[str, Any]] = list(body["messages"])
        system = body.get("system")
        if isinstance(system, str | list) and system:
            messages.insert(0, {"role": "system", "content": system})
        return LlmCall(
            model=body["model"],
            messages=messages,
            schema=_output_schema(body),
            json_mode=False,
            max_tokens=body["max_tokens"],
        )

    def quota_exhausted(self, call: LlmCall) -> Response:
        today = datetime.now(UTC).date()
        next_month = date(today.year + today.month // 12, today.month % 12 + 1, 1)
        message = (
            "You have reached your specified API usage limits. You will regain access on "
            f"{next_month.isoformat()} at 00:00 UTC."
        )
        details = {"error_code": "enforced_spend_limit_reached"}
        return _error(429, "rate_limit_error", message, details=details)

    def rate_limited(
        self, call: LlmCall, cause: RateLimitCause, wait_s: float, limits: RateLimitSnapshot
    ) -> Response:
        spent = "input-tokens" if cause == "tokens" else "requests"
        amount = (
            f"{limits.limit_tokens} input tokens"
            if cause == "tokens"
            else f"{limits.limit_requests} requests"
        )
        message = (
            "This request would exceed the rate limit for your organization (org-sandbox) of "
            f"{amount} per minute. For details, refer to: {_RATE_LIMITS_DOC}. You can see the "
            "response headers for current usage. Please reduce the prompt length or the "
            "maximum tokens requested, or try again later."
        )
        headers = _limit_headers(limits, spent=spent, wait_s=wait_s)
        headers["retry-after"] = str(max(1, math.ceil(wait_s)))
        return _error(429, "rate_limit_error", message, headers=headers)

    def server_error(self, status: int) -> Response:
        if status == 529:
            return _error(529, "overloaded_error", "Overloaded")
        return _error(status, "api_error", "Internal server error")

    def success(
        self, call: LlmCall, completion: Completion, limits: RateLimitSnapshot
    ) -> tuple[dict[str, Any], dict[str, str]]:
        body = {
            "id": f"msg_{uuid.uuid4().hex[:24]}",
            "type": "message",
            "role": "assistant",
            "model": call.model,
            "content": [{"type": "text", "text": completion.text}],
            "stop_reason": "max_tokens" if completion.truncated else "end_turn",
            "stop_sequence": None,
            "usage": {
                "input_tokens": completion.tokens_in,
                "output_tokens": completion.tokens_out,
            },
        }
        return body, {**_limit_headers(limits), "request-id": _request_id()}


def _body_problem(body: Mapping[str, Any]) -> str | None:
    """Why Anthropic would answer 400 to ``body``, or None."""
    if not isinstance(body.get("model"), str) or not body["model"]:
        return "model: Field required"
    max_tokens = body.get("max_tokens")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int):
        return "max_tokens: Field required"
    if max_tokens < 1:
        return "max_tokens: Input should be greater than or equal to 1"
    temperature = body.get("temperature", 1)
    if isinstance(temperature, int | float) and not 0 <= temperature <= 1:
        return "temperature: Input should be less than or equal to 1"
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        return "messages: Field required"
    for index, message in enumerate(messages):
        role = message.get("role") if isinstance(message, Mapping) else None
        if role == "system":
            return (
                'messages: Unexpected role "system". The Messages API accepts a top-level '
                '`system` parameter, not "system" as an input message role.'
            )
        if role not in ("user", "assistant"):
            return f"messages.{index}.role: Input should be 'user' or 'assistant'"
    output_config = body.get("output_config")
    if output_config is not None:
        spec = output_config.get("format") if isinstance(output_config, Mapping) else None
        if not isinstance(spec, Mapping) or spec.get("type") != "json_schema":
            return "output_config.format.type: Input should be 'json_schema'"
        if not isinstance(spec.get("schema"), Mapping):
            return "output_config.format.schema: Field required"
        return _schema_problem(spec["schema"], "output_config.format.schema", 0)
    return None


def _schema_problem(schema: Any, where: str, depth: int) -> str | None:
    """The first keyword structured outputs do not support, as Anthropic words its 400."""
    if not isinstance(schema, Mapping) or depth > 32:
        return None
    for keyword in _UNSUPPORTED:
        if keyword in schema:
            return f"{where}: '{keyword}' is not supported in structured outputs schemas"
    if schema.get("type") == "object" and schema.get("additionalProperties") is not False:
        return f"{where}: For 'object' type, 'additionalProperties' must be explicitly set to false"
    children: list[tuple[str, Any]] = []
    for key in _SCHEMA_CHILDREN:
        value = schema.get(key)
        if isinstance(value, Mapping):
            children += [(f"{where}.{key}.{name}", sub) for name, sub in value.items()]
    for key in ("anyOf", "allOf"):
        value = schema.get(key)
        if isinstance(value, list):
            children += [(f"{where}.{key}.{i}", sub) for i, sub in enumerate(value)]
    if "items" in schema:
        children.append((f"{where}.items", schema["items"]))
    for path, sub in children:
        problem = _schema_problem(sub, path, depth + 1)
        if problem is not None:
            return problem
    return None


def _output_schema(body: Mapping[str, Any]) -> dict[str, Any] | None:
    """The schema of ``output_config.format`` (or the beta ``output_format``), if any."""
    for spec in (body.get("output_config"), body.get("output_format")):
        if isinstance(spec, Mapping):
            spec = spec.get("format", spec)
            schema = spec.get("schema") if isinstance(spec, Mapping) else None
            if isinstance(schema, dict):
                return schema
    return None


def _limit_headers(
    limits: RateLimitSnapshot, *, spent: str | None = None, wait_s: float = 0.0
) -> dict[str, str]:
    """``anthropic-ratelimit-*`` headers; reset times are RFC 3339, whole seconds, rounded up."""
    now = datetime.now(UTC)

    def at(seconds: float) -> str:
        moment = now + timedelta(seconds=seconds)
        if moment.microsecond:
            moment = moment.replace(microsecond=0) + timedelta(seconds=1)
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    values = {
        "requests": (limits.limit_requests, limits.remaining_requests, limits.reset_requests_s),
        "tokens": (limits.limit_tokens, limits.remaining_tokens, limits.reset_tokens_s),
        "input-tokens": (limits.limit_tokens, limits.remaining_tokens, limits.reset_tokens_s),
        "output-tokens": (limits.limit_tokens, limits.remaining_tokens, limits.reset_tokens_s),
    }
    headers: dict[str, str] = {}
    for kind, (limit, remaining, reset_s) in values.items():
        if kind == spent:
            remaining, reset_s = 0, wait_s
        headers[f"anthropic-ratelimit-{kind}-limit"] = str(limit)
        headers[f"anthropic-ratelimit-{kind}-remaining"] = str(remaining)
        headers[f"anthropic-ratelimit-{kind}-reset"] = at(reset_s)
    return headers


def _error(
    status: int,
    error_type: str,
    message: str,
    *,
    details: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """An error in Anthropic's shape: ``{"type": "error", "error": {...}, "request_id"}``."""
    request_id = _request_id()
    error: dict[str, Any] = {"type": error_type, "message": message}
    if details is not None:
        error["details"] = details
    body = {"type": "error", "error": error, "request_id": request_id}
    return JSONResponse(
        body, status_code=status, headers={**(headers or {}), "request-id": request_id}
    )


def _request_id() -> str:
    return f"req_{uuid.uuid4().hex[:24]}"
