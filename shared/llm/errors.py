"""LLM provider failures, placed in the shared error tree (:mod:`shared.errors`).

Every message names the provider, the HTTP status (or ``no response``) and the reason;
none ever contains the API key.
"""

from __future__ import annotations

from typing import Any

import httpx

from shared.errors import ProviderRejected, RateLimited, TransientError

__all__ = [
    "ProviderRateLimited",
    "ProviderRequestRejected",
    "ProviderResponseInvalid",
    "ProviderUnavailable",
    "describe_failure",
    "error_object",
    "error_reason",
]

_MAX_REASON_CHARS = 300


def describe_failure(provider: str, status: int | None, reason: str) -> str:
    """One line naming the provider, the HTTP status and the reason of a failed call."""
    shown = "no response" if status is None else str(status)
    return f"{provider}: status {shown}: {reason}"


class ProviderUnavailable(TransientError):
    """A timeout, a connection error or a 5xx: the provider may answer if asked again."""

    def __init__(
        self, *, provider: str, status: int | None, reason: str, retry_after_s: float | None = None
    ) -> None:
        super().__init__(describe_failure(provider, status, reason))
        self.provider = provider
        self.status = status
        self.reason = reason
        self.retry_after_s = retry_after_s


class ProviderRateLimited(RateLimited):
    """A 429 that will pass after a while; ``delay_s`` is the provider's suggested wait."""

    def __init__(
        self, *, provider: str, reason: str, retry_after_s: float | None, fallback_delay_s: float
    ) -> None:
        delay_s = retry_after_s if retry_after_s is not None else fallback_delay_s
        super().__init__(describe_failure(provider, 429, reason), delay_s=delay_s)
        self.provider = provider
        self.status = 429
        self.reason = reason
        self.retry_after_s = retry_after_s


class ProviderResponseInvalid(TransientError):
    """The provider answered, but not with JSON that matches the requested schema."""

    def __init__(self, *, provider: str, status: int | None, reason: str) -> None:
        super().__init__(describe_failure(provider, status, reason))
        self.provider = provider
        self.status = status
        self.reason = reason


class ProviderRequestRejected(ProviderRejected):
    """The provider refused a request that cannot succeed as sent (key, quota, parameters)."""

    def __init__(self, *, provider: str, status: int | None, reason: str) -> None:
        super().__init__(describe_failure(provider, status, reason))
        self.provider = provider
        self.status = status
        self.reason = reason


def error_object(response: httpx.Response) -> tuple[dict[str, Any], str]:
    """The ``error`` object of an error body (all three LLM providers nest it there), and a
    fallback text for bodies that have none."""
    try:
        body = response.json()
    except ValueError:
        return {}, response.text.strip() or response.reason_phrase or "no error body"
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return error, response.reason_phrase
    return {}, str(body) if body else response.reason_phrase


def error_reason(code: object, message: object, *, secret: str) -> str:
    """``code: message`` shortened to one line, with the API key blanked out."""
    text = f"{code}: {message}" if code else str(message)
    if secret:
        text = text.replace(secret, "***")
    text = " ".join(text.split())
    return text if len(text) <= _MAX_REASON_CHARS else text[: _MAX_REASON_CHARS - 3] + "..."
