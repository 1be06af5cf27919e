"""Apollo's wire format: error responses, rate-limit headers and JSON bodies."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import httpx

from shared.apollo.errors import (
    ApolloRateLimited,
    ApolloRejected,
    ApolloResponseInvalid,
    ApolloUnavailable,
)
from shared.llm.retry_after import suggested_delay_s

__all__ = ["RATE_LIMIT_HEADERS", "json_object", "raise_for_error_status", "window_delay_s"]

RATE_LIMIT_HEADERS = (
    "x-rate-limit-minute",
    "x-rate-limit-hourly",
    "x-rate-limit-24-hour",
    "x-minute-usage",
    "x-hourly-usage",
    "x-24-hour-usage",
    "x-minute-requests-left",
    "x-hourly-requests-left",
    "x-24-hour-requests-left",
)
_RETRYABLE_CLIENT_STATUSES = frozenset({408})
_MAX_REASON_CHARS = 300
# A 429 without retry-after: wait for the spent window to close. A day window may have opened
# hours ago, so the wait is capped: the task looks again after an hour rather than sleeping
# out a full day it may not need.
_WINDOW_S = {"minute": 60.0, "hour": 3_600.0, "day": 86_400.0}
_MAX_WINDOW_DELAY_S = 3_600.0
_WINDOW_LEFT_HEADERS = (
    ("day", "x-24-hour-requests-left"),
    ("hour", "x-hourly-requests-left"),
    ("minute", "x-minute-requests-left"),
)
_WINDOW_WORDS = (("day", r"per day|24[- ]hour|daily"), ("hour", r"per hour|hourly"))


def raise_for_error_status(response: httpx.Response, *, endpoint: str, secret: str) -> None:
    """Raise the error-tree exception an unsuccessful response stands for (no-op on 2xx)."""
    status = response.status_code
    if 200 <= status < 300:
        return
    reason = _shorten(_redact(_error_text(response), secret))
    if status == 429:
        raise ApolloRateLimited(
            reason=reason,
            endpoint=endpoint,
            retry_after_s=suggested_delay_s(response.headers),
            fallback_delay_s=window_delay_s(response.headers, reason),
        )
    if status >= 500 or status in _RETRYABLE_CLIENT_STATUSES:
        raise ApolloUnavailable(
            status=status,
            reason=reason,
            endpoint=endpoint,
            retry_after_s=suggested_delay_s(response.headers),
        )
    raise ApolloRejected(status=status, reason=reason, endpoint=endpoint)


def json_object(response: httpx.Response, *, endpoint: str) -> dict[str, Any]:
    """The JSON object of a successful response, or :class:`ApolloResponseInvalid`."""
    try:
        body = response.json()
    except ValueError:
        raise ApolloResponseInvalid(
            status=response.status_code, reason="response body is not JSON", endpoint=endpoint
        ) from None
    if not isinstance(body, dict):
        raise ApolloResponseInvalid(
            status=response.status_code,
            reason=f"response body is a JSON {type(body).__name__}, not an object",
            endpoint=endpoint,
        )
    return body


def window_delay_s(headers: Mapping[str, str], message: str = "") -> float:
    """How long until the spent window reopens, judged from headers or the 429 message."""
    for window, header in _WINDOW_LEFT_HEADERS:
        if headers.get(header, "").strip() == "0":
            return min(_WINDOW_S[window], _MAX_WINDOW_DELAY_S)
    for window, words in _WINDOW_WORDS:
        if re.search(words, message, re.IGNORECASE):
            return min(_WINDOW_S[window], _MAX_WINDOW_DELAY_S)
    return _WINDOW_S["minute"]


def _error_text(response: httpx.Response) -> str:
    """Apollo's error message: plain text (401), ``{"message"}`` (429) or ``{"error"}``."""
    text = response.text.strip()
    try:
        body = json.loads(text) if text else None
    except ValueError:
        return text or response.reason_phrase or "no error body"
    if not isinstance(body, dict):
        return text or response.reason_phrase or "no error body"
    message = body.get("message") or body.get("error") or body.get("error_message")
    code = body.get("error_code") or body.get("code")
    message_text = str(message) if message else (response.reason_phrase or json.dumps(body))
    return f"{code}: {message_text}" if code else message_text


def _redact(text: str, secret: str) -> str:
    return text.replace(secret, "***") if secret else text


def _shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= _MAX_REASON_CHARS else text[: _MAX_REASON_CHARS - 3] + "..."
