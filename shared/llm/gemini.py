"""Gemini generateContent: ``POST {base_url}/models/{model}:generateContent`` with a
``responseSchema`` (an OpenAPI-3 subset converted from the caller's JSON Schema)."""

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
from shared.llm.retry_after import parse_google_duration_s, suggested_delay_s
from shared.llm.schemas import gemini_schema
from shared.llm.wire import WireAnswer, WireRequest

__all__ = ["GeminiGenerateContentClient", "generate_content_body"]

PROVIDER = "gemini"
_RETRY_INFO = "type.googleapis.com/google.rpc.RetryInfo"
_QUOTA_FAILURE = "type.googleapis.com/google.rpc.QuotaFailure"
_RATE_LIMIT_FALLBACK_DELAY_S = 1.0
_SYSTEM_ROLES = frozenset({"system", "developer"})


class GeminiGenerateContentClient(HttpLlmClient):
    """Calls ``POST {base_url}/models/{model}:generateContent`` and retries what may pass."""

    provider = PROVIDER

    def _auth_headers(self, api_key: str) -> dict[str, str]:
        return {"x-goog-api-key": api_key}

    def _wire_request(
        self,
        messages: Sequence[ChatMessage],
        *,
        schema_name: str,
        schema: dict[str, Any],
        temperature: float,
        max_tokens: int,
    ) -> WireRequest:
        body = generate_content_body(
            messages=messages, schema=schema, temperature=temperature, max_tokens=max_tokens
        )
        return WireRequest(f"models/{self._model.removeprefix('models/')}:generateContent", body)

    def _raise_for_status(self, response: httpx.Response) -> None:
        status = response.status_code
        if 200 <= status < 300:
            return
        error, fallback = error_object(response)
        reason = error_reason(
            error.get("status"), error.get("message") or fallback, secret=self._api_key
        )
        details = error.get("details")
        details = [d for d in details if isinstance(d, dict)] if isinstance(details, list) else []
        retry_after_s = _retry_delay_s(details)
        if retry_after_s is None:
            retry_after_s = suggested_delay_s(response.headers)
        if status == 429:
            hard_quota = _hard_quota(details)
            if hard_quota is not None:
                raise ProviderRequestRejected(
                    provider=PROVIDER, status=status, reason=f"{reason} ({hard_quota})"
                )
            raise ProviderRateLimited(
                provider=PROVIDER,
                reason=reason,
                retry_after_s=retry_after_s,
                fallback_delay_s=_RATE_LIMIT_FALLBACK_DELAY_S,
            )
        if status >= 500:
            raise ProviderUnavailable(
                provider=PROVIDER, status=status, reason=reason, retry_after_s=retry_after_s
            )
        raise ProviderRequestRejected(provider=PROVIDER, status=status, reason=reason)

    def _usage(self, body: dict[str, Any]) -> tuple[int, int]:
        usage = body.get("usageMetadata")
        usage = usage if isinstance(usage, dict) else {}
        # Thinking tokens are billed as output.
        tokens_out = token_count(usage.get("candidatesTokenCount")) + token_count(
            usage.get("thoughtsTokenCount")
        )
        return token_count(usage.get("promptTokenCount")), tokens_out

    def _answer(
        self, body: dict[str, Any], response: httpx.Response, max_tokens: int
    ) -> WireAnswer:
        candidates = body.get("candidates")
        if not isinstance(candidates, list) or not candidates:
            feedback = body.get("promptFeedback")
            blocked = feedback.get("blockReason") if isinstance(feedback, dict) else None
            if blocked:
                raise self._rejected(response, f"prompt blocked (blockReason={blocked})")
            raise self._invalid(response, "response has no candidates")
        candidate = candidates[0] if isinstance(candidates[0], dict) else {}
        finish_reason = candidate.get("finishReason")
        if finish_reason == "MAX_TOKENS":
            raise self._rejected(
                response, f"answer cut off at max_tokens={max_tokens} (finishReason=MAX_TOKENS)"
            )
        if finish_reason not in (None, "STOP", "FINISH_REASON_UNSPECIFIED"):
            raise self._rejected(response, f"answer withheld (finishReason={finish_reason})")
        content = candidate.get("content")
        parts = content.get("parts") if isinstance(content, dict) else None
        texts = [
            part["text"]
            for part in (parts if isinstance(parts, list) else [])
            if isinstance(part, dict)
            and isinstance(part.get("text"), str)
            and not part.get("thought")
        ]
        if not texts:
            raise self._invalid(response, "first candidate has no text part")
        model = body.get("modelVersion")
        response_id = body.get("responseId")
        return WireAnswer(
            text="".join(texts),
            model=model if isinstance(model, str) else None,
            request_id=response_id if isinstance(response_id, str) else None,
        )


def generate_content_body(
    *,
    messages: Sequence[ChatMessage],
    schema: dict[str, Any],
    temperature: float,
    max_tokens: int,
) -> dict[str, Any]:
    """A generateContent request: system instruction apart, answer constrained to ``schema``."""
    system = "\n\n".join(m.content for m in messages if m.role in _SYSTEM_ROLES)
    body: dict[str, Any] = {
        "contents": [
            {"role": "model" if m.role == "assistant" else "user", "parts": [{"text": m.content}]}
            for m in messages
            if m.role not in _SYSTEM_ROLES
        ],
        "generationConfig": {
            "responseMimeType": "application/json",
            "responseSchema": gemini_schema(schema),
            "temperature": temperature,
            "maxOutputTokens": max_tokens,
        },
    }
    if system:
        body["systemInstruction"] = {"parts": [{"text": system}]}
    return body


def _retry_delay_s(details: list[dict[str, Any]]) -> float | None:
    """``RetryInfo.retryDelay`` of an error's details, in seconds."""
    for detail in details:
        if detail.get("@type") == _RETRY_INFO:
            return parse_google_duration_s(detail.get("retryDelay"))
    return None


def _hard_quota(details: list[dict[str, Any]]) -> str | None:
    """The quota a 429 names that waiting a minute cannot restore: none granted (value 0),
    or a per-day quota (resets at midnight Pacific). None when every quota is short-term."""
    for detail in details:
        if detail.get("@type") != _QUOTA_FAILURE:
            continue
        violations = detail.get("violations")
        for violation in violations if isinstance(violations, list) else []:
            if not isinstance(violation, dict):
                continue
            quota_id = str(violation.get("quotaId") or violation.get("quotaMetric") or "quota")
            value = str(violation.get("quotaValue", "")).strip()
            if value == "0":
                return f"no quota granted: {quota_id} is 0"
            if "PerDay" in quota_id:
                return f"daily quota spent: {quota_id} = {value}, resets at midnight Pacific"
    return None
