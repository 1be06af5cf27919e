"""Anthropic messages: ``POST {base_url}/v1/messages`` with JSON-schema output
(``output_config.format``, the generally available form)."""

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
from shared.llm.retry_after import anthropic_suggested_delay_s
from shared.llm.schemas import anthropic_schema
from shared.llm.wire import WireAnswer, WireRequest

__all__ = ["ANTHROPIC_VERSION", "AnthropicMessagesClient", "messages_request_body"]

PROVIDER = "anthropic"
ANTHROPIC_VERSION = "2023-06-01"
# A spend limit blocks the organisation until the month ends (or an admin raises it).
_SPEND_LIMIT = "enforced_spend_limit_reached"
# 529 overloaded_error and 500 api_error are Anthropic's transient statuses; the SDK also
# retries 408 and 409.
_RETRYABLE_CLIENT_STATUSES = frozenset({408, 409})
_RATE_LIMIT_FALLBACK_DELAY_S = 1.0
_SYSTEM_ROLES = frozenset({"system", "developer"})


class AnthropicMessagesClient(HttpLlmClient):
    """Calls ``POST {base_url}/v1/messages`` and retries what may pass on a second try."""

    provider = PROVIDER

    def _auth_headers(self, api_key: str) -> dict[str, str]:
        return {"x-api-key": api_key, "anthropic-version": ANTHROPIC_VERSION}

    def _wire_request(
        self,
        messages: Sequence[ChatMessage],
        *,
        schema_name: str,
        schema: dict[str, Any],
        temperature: float,
        max_tokens: int,
    ) -> WireRequest:
        body = messages_request_body(
            model=self._model,
            messages=messages,
            schema=schema,
            temperature=temperature,
            max_tokens=max_tokens,
        )
        return WireRequest("v1/messages", body)

    def _raise_for_status(self, response: httpx.Response) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        error, fallback = error_object(response)
        reason = error_reason(
            error.get("type"), error.get("message") or fallback, secret=self._api_key
        )
        if status == 429:
            details = error.get("details")
            if isinstance(details, dict) and details.get("error_code") == _SPEND_LIMIT:
                raise ProviderRequestRejected(
                    provider=PROVIDER, status=status, reason=f"{reason} ({_SPEND_LIMIT})"
                )
            raise ProviderRateLimited(
                provider=PROVIDER,
                reason=reason,
                retry_after_s=anthropic_suggested_delay_s(response.headers),
                fallback_delay_s=_RATE_LIMIT_FALLBACK_DELAY_S,
            )
        if status >= 500 or status in _RETRYABLE_CLIENT_STATUSES:
            raise ProviderUnavailable(
                provider=PROVIDER,
                status=status,
                reason=reason,
                retry_after_s=anthropic_suggested_delay_s(response.headers),
            )
        raise ProviderRequestRejected(provider=PROVIDER, status=status, reason=reason)

    def _usage(self, body: dict[str, Any]) -> tuple[int, int]:
        usage = body.get("usage")
        usage = usage if isinstance(usage, dict) else {}
        # Cached prompt tokens are reported apart from input_tokens, but are input all the same.
        tokens_in = sum(
            token_count(usage.get(key))
            for key in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
        )
        return tokens_in, token_count(usage.get("output_tokens"))

    def _answer(
        self, body: dict[str, Any], response: httpx.Response, max_tokens: int
    ) -> WireAnswer:
        stop_reason = body.get("stop_reason")
        if stop_reason == "max_tokens":
            raise self._rejected(
                response, f"answer cut off at max_tokens={max_tokens} (stop_reason=max_tokens)"
            )
        if stop_reason == "refusal":
            raise self._rejected(response, "model refused (stop_reason=refusal)")
        content = body.get("content")
        blocks = content if isinstance(content, list) else []
        text = next(
            (
                block["text"]
                for block in blocks
                if isinstance(block, dict)
                and block.get("type") == "text"
                and isinstance(block.get("text"), str)
            ),
            None,
        )
        if text is None:
            raise self._invalid(response, "answer has no text content block")
        model = body.get("model")
        message_id = body.get("id")
        return WireAnswer(
            text=text,
            model=model if isinstance(model, str) else None,
            request_id=response.headers.get("request-id")
            or (message_id if isinstance(message_id, str) else None),
        )


def messages_request_body(
    *,
    model: str,
    messages: Sequence[ChatMessage],
    schema: dict[str, Any],
    temperature: float,
    max_tokens: int,
) -> dict[str, Any]:
    """A messages request: system prompt apart, answer constrained to ``schema``."""
    system = "\n\n".join(m.content for m in messages if m.role in _SYSTEM_ROLES)
    body: dict[str, Any] = {
        "model": model,
        "max_tokens": max_tokens,
        "temperature": temperature,
        "messages": [
            {"role": "assistant" if m.role == "assistant" else "user", "content": m.content}
            for m in messages
            if m.role not in _SYSTEM_ROLES
        ],
        "output_config": {"format": {"type": "json_schema", "schema": anthropic_schema(schema)}},
    }
    if system:
        body["system"] = system
    return body
