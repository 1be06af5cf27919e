"""One HTTP exchange with a provider, bounded by the call's deadline."""

from __future__ import annotations

import time
from typing import Any

import httpx

from shared.llm.errors import ProviderUnavailable

__all__ = ["post_within_deadline"]


def post_within_deadline(
    http: httpx.Client,
    path: str,
    body: dict[str, Any],
    *,
    timeout: httpx.Timeout,
    deadline: float,
    provider: str,
    secret: str,
) -> tuple[httpx.Response, int]:
    """POST ``body`` and read the whole answer; the response (body loaded) and its latency.

    Timeouts, connection errors and a body still arriving at ``deadline`` (``time.monotonic``)
    raise :class:`ProviderUnavailable` with ``status=None``; ``secret`` never reaches its text.
    """
    sent = time.monotonic()
    try:
        with http.stream("POST", path, json=body, timeout=timeout) as streamed:
            raw = bytearray()
            # The read timeout bounds each read, not the body: a server trickling bytes would
            # otherwise hold the call far beyond its budget.
            for chunk in streamed.iter_bytes():
                raw += chunk
                if time.monotonic() > deadline:
                    raise ProviderUnavailable(
                        provider=provider,
                        status=None,
                        reason="timed out (answer still arriving when the time budget ran out)",
                    )
    except httpx.TimeoutException as exc:
        raise ProviderUnavailable(
            provider=provider, status=None, reason=f"timed out ({type(exc).__name__})"
        ) from exc
    except httpx.RequestError as exc:
        reason = f"{type(exc).__name__}: {exc}"
        if secret:
            reason = reason.replace(secret, "***")
        raise ProviderUnavailable(provider=provider, status=None, reason=reason) from exc
    latency_ms = round((time.monotonic() - sent) * 1000)
    headers = streamed.headers.copy()
    headers.pop("content-encoding", None)  # the bytes read are already decoded
    response = httpx.Response(
        streamed.status_code, headers=headers, content=bytes(raw), request=streamed.request
    )
    return response, latency_ms
