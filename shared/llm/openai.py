"""OpenAI chat completions: ``POST {base_url}/chat/completions`` with strict JSON-schema output."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from shared.llm.answers import token_count
from shared.llm.base import HttpLlmClient
from shared.llm.errors import (
    ProviderRateLimited,
    ProviderRequestRejected,
    ProviderUnavailable,
    error_object,
    error_reason,
)
from shared.llm.messages import ChatMessage
from shared.llm.retry_after import suggested_delay_s
from shared.llm.wire import WireAnswer, WireRequest

__all__ = ["ChatCompletionsClient", "chat_request_body"]

PROVIDER = "openai"
# OpenAI documents 408 and 409 (lock timeout) as worth retrying, like 429 and 5xx.
_RETRYABLE_CLIENT_STATUSES = frozenset({408, 409})
_RATE_LIMIT_FALLBACK_DELAY_S = 1.0


class ChatCompletionsClient(HttpLlmClient):
    """Calls ``POST {base_url}/chat/completions`` and retries what may pass on a second try."""

    provider = PROVIDER

    def _auth_headers(self, api_key: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {api_key}"}

    def _wire_request(
        self,
        messages: Sequence[ChatMessage],
        *,
        schema_name: str,
        schema: dict[str, Any],
        temperature: float,
        max_tokens: int,
    ) -> WireRequest:
        body = chat_request_body(
            model=self._model,
            messages=messages,
            schema_name=schema_name,
            schema=schema,
            temperature=temperature,
            max_tokens=max_tokens,
        )
        return WireRequest("chat/completions", body)

    def _raise_for_status(self, response: httpx.Response) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        error, fallback = error_object(response)
        # Branch on error.code, not only on the type (OpenAI's advice).
        code = error.get("code") or error.get("type")
        reason = error_reason(code, error.get("message") or fallback, secret=self._api_key)
        if status == 429:
            # A spent quota or credit balance does not come back by waiting.
            if code == "insufficient_quota":
                raise ProviderRequestRejected(provider=PROVIDER, status=status, reason=reason)
            raise ProviderRateLimited(
                provider=PROVIDER,
                reason=reason,
                retry_after_s=suggested_delay_s(response.headers),
                fallback_delay_s=_RATE_LIMIT_FALLBACK_DELAY_S,
            )
        if status >= 500 or status in _RETRYABLE_CLIENT_STATUSES:
            raise ProviderUnavailable(
                provider=PROVIDER,
                status=status,
                reason=reason,
                retry_after_s=suggested_delay_s(response.headers),
            )
        raise ProviderRequestRejected(provider=PROVIDER, status=status, reason=reason)

    def _usage(self, body: dict[str, Any]) -> tuple[int, int]:
        usage = body.get("usage")
        usage = usage if isinstance(usage, dict) else {}
        return token_count(usage.get("prompt_tokens")), token_count(usage.get("completion_tokens"))

    def _answer(
        self, body: dict[str, Any], response: httpx.Response, max_tokens: int
    ) -> WireAnswer:
        choices = body.get("choices")
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise self._invalid(response, "response has no choices")
        choice = choices[0]
        message = choice.get("message")
        if not isinstance(message, dict):
            raise self._invalid(response, "first choice has no message")
        refusal = message.get("refusal")
        if refusal:
            raise self._rejected(response, error_reason("model refused", refusal, secret=""))
        finish_reason = choice.get("finish_reason")
        if finish_reason == "length":
            raise self._rejected(
                response, f"answer cut off at max_tokens={max_tokens} (finish_reason=length)"
            )
        if finish_reason == "content_filter":
            raise self._rejected(response, "answer withheld by the content filter")
        content = message.get("content")
        if not isinstance(content, str):
            raise self._invalid(response, "message has no text content")
        model = body.get("model")
        return WireAnswer(
            text=content,
            model=model if isinstance(model, str) else None,
            request_id=response.headers.get("x-request-id"),
        )


def chat_request_body(
    *,
    model: str,
    messages: Sequence[ChatMessage],
    schema_name: str,
    schema: dict[str, Any],
    temperature: float,
    max_tokens: int,
) -> dict[str, Any]:
    """A chat completion request that asks for strict JSON-schema output."""
    return {
        "model": model,
        "messages": [{"role": message.role, "content": message.content} for message in messages],
        "temperature": temperature,
        "max_tokens": max_tokens,
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": schema_name, "schema": schema, "strict": True},
        },
    }
