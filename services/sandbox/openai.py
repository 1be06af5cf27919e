"""OpenAI chat completions as the sandbox answers them: ``POST /v1/chat/completions``."""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from services.sandbox.limits import RateLimitSnapshot, format_duration
from services.sandbox.pipeline import (
    Completion,
    LlmCall,
    RateLimitCause,
    serve_llm_request,
)
from services.sandbox.state import INVALID_KEY_PREFIX, SandboxState

__all__ = ["OpenAiWire", "build_openai_router"]

_ROLES = frozenset({"system", "developer", "user", "assistant", "tool"})
_INVALID = "invalid_request_error"
_NO_KEY = (
    "You didn't provide an API key. You need to provide your API key in an Authorization "
    "header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
)
_QUOTA = (
    "You exceeded your current quota, please check your plan and billing details. For more "
    "information on this error, read the docs: "
    "https://platform.openai.com/docs/guides/error-codes/api-errors."
)


def build_openai_router(state: SandboxState) -> APIRouter:
    """The chat-completions endpoint, on ``state``."""
    router = APIRouter()
    wire = OpenAiWire()

    @router.post("/v1/chat/completions")
    async def chat_completions(request: Request) -> Response:
        return await serve_llm_request(request, state, wire)

    return router


class OpenAiWire:
    """OpenAI's request checks, bodies, errors and ``x-ratelimit-*`` headers."""

    provider = "openai"

    def refuse_key(self, request: Request) -> Response | None:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            return _error(401, _NO_KEY, _INVALID)
        if key.startswith(INVALID_KEY_PREFIX):
            # The real API masks most of the key; the whole key is echoed here so that
            # tests prove clients keep it out of their errors and logs.
            message = (
                f"Incorrect API key provided: {key}. You can find your API key at "
                "https://platform.openai.com/account/api-keys."
            )
            return _error(401, message, _INVALID, code="invalid_api_key")
        return None

    def read(self, request: Request, body: Any) -> LlmCall | Response:
        if not isinstance(body, dict):
            return _error(400, "We could not parse the JSON body of your request.", _INVALID)
        model = body.get("model")
        if not isinstance(model, str) or not model:
            return _error(400, "you must provide a model parameter", _INVALID)
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            return _invalid("Missing required parameter: 'messages'.", "messages", "missing")
        for index, message in enumerate(messages):
            if not isinstance(message, dict) or message.get("role") not in _ROLES:
                return _invalid(
                    f"Invalid value for 'messages[{index}].role'.",
                    f"messages[{index}].role",
                    "invalid_value",
                )
        temperature = body.get("temperature", 1)
        if isinstance(temperature, int | float) and not 0 <= temperature <= 2:
            bound = (
                "above maximum value. Expected a value <= 2"
                if temperature > 2
                else ("below minimum value. Expected a value >= 0")
            )
            code = "decimal_above_max_value" if temperature > 2 else "decimal_below_min_value"
            return _invalid(
                f"Invalid 'temperature': decimal {bound}, but got {temperature} instead.",
                "temperature",
                code,
            )
        max_tokens = body.get("max_completion_tokens", body.get("max_tokens"))
        if isinstance(max_tokens, int) and max_tokens < 1:
            return _invalid(
                "Invalid 'max_tokens': integer below minimum value. Expected a value >= 1, "
                f"but got {max_tokens} instead.",
                "max_tokens",
                "integer_below_min_value",
            )
        response_format = body.get("response_format")
        kind = response_format.get("type") if isinstance(response_format, Mapping) else None
        schema = _requested_schema(response_format)
        if kind == "json_schema" and schema is None:
            return _invalid(
                "Missing required parameter: 'response_format.json_schema.schema'.",
                "response_format.json_schema",
                "missing",
            )
        return LlmCall(
            model=model,
            messages=messages,
            schema=schema,
            json_mode=kind == "json_object",
            max_tokens=max_tokens if isinstance(max_tokens, int) else None,
        )

    def quota_exhausted(self, call: LlmCall) -> Response:
        return _error(429, _QUOTA, "insufficient_quota", code="insufficient_quota")

    def rate_limited(
        self, call: LlmCall, cause: RateLimitCause, wait_s: float, limits: RateLimitSnapshot
    ) -> Response:
        headers = limits.headers()
        if cause == "tokens":
            used = limits.limit_tokens - limits.remaining_tokens
            what = f"tokens per min (TPM): Limit {limits.limit_tokens}, Used {used}"
            requested = call.prompt_tokens() + (call.max_tokens or 0)
            headers["x-ratelimit-remaining-tokens"] = "0"
            headers["x-ratelimit-reset-tokens"] = format_duration(wait_s)
        else:
            limit = limits.limit_requests
            what = f"requests per min (RPM): Limit {limit}, Used {limit}"
            requested = 1
            headers["x-ratelimit-remaining-requests"] = "0"
            headers["x-ratelimit-reset-requests"] = format_duration(wait_s)
        message = (
            f"Rate limit reached for {call.model} in organization org-sandbox on {what}, "
            f"Requested {requested}. Please try again in {wait_s:.3g}s."
        )
        headers["retry-after"] = str(max(1, math.ceil(wait_s)))
        headers["retry-after-ms"] = str(math.ceil(wait_s * 1000))
        error_type = "tokens" if cause == "tokens" else "requests"
        return _error(429, message, error_type, code="rate_limit_exceeded", headers=headers)

    def server_error(self, status: int) -> Response:
        if status == 503:
            return _error(503, "The server is overloaded or not ready yet.", "server_error")
        message = "The server had an error while processing your request. Sorry about that!"
        return _error(status, message, "server_error")

    def success(
        self, call: LlmCall, completion: Completion, limits: RateLimitSnapshot
    ) -> tuple[dict[str, Any], dict[str, str]]:
        body = {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": call.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": completion.text, "refusal": None},
                    "logprobs": None,
                    "finish_reason": "length" if completion.truncated else "stop",
                }
            ],
            "usage": {
                "prompt_tokens": completion.tokens_in,
                "completion_tokens": completion.tokens_out,
                "total_tokens": completion.tokens_in + completion.tokens_out,
            },
        }
        return body, {**limits.headers(), "x-request-id": _request_id()}


def _requested_schema(response_format: object) -> dict[str, Any] | None:
    """The JSON schema of a ``response_format`` of type ``json_schema``, if any."""
    if not isinstance(response_format, Mapping) or response_format.get("type") != "json_schema":
        return None
    spec = response_format.get("json_schema")
    schema = spec.get("schema") if isinstance(spec, Mapping) else None
    return schema if isinstance(schema, dict) else None


def _invalid(message: str, param: str, code: str) -> JSONResponse:
    if code == "missing":
        code = "missing_required_parameter"
    return _error(400, message, _INVALID, code=code, param=param)


def _error(
    status: int,
    message: str,
    error_type: str | None,
    *,
    code: str | None = None,
    param: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """An error in OpenAI's shape: ``{"error": {"message", "type", "param", "code"}}``."""
    body = {"error": {"message": message, "type": error_type, "param": param, "code": code}}
    return JSONResponse(
        body, status_code=status, headers={**(headers or {}), "x-request-id": _request_id()}
    )


def _request_id() -> str:
    return f"req_{uuid.uuid4().hex}"
