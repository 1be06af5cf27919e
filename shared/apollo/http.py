"""One Apollo API call: gate permits, timeouts within a total budget, retries and errors.

Every HTTP attempt takes a permit from the :class:`~shared.ratelimit.gate.CallGate` and
settles it with the status and all response headers, so the gate sees Apollo's
``x-rate-limit-*`` and ``x-*-requests-left`` headers and keeps the minute, hour and day
windows across processes.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any

import httpx
import structlog
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_before_delay,
)

from shared.apollo.errors import PROVIDER, ApolloRateLimited, ApolloUnavailable
from shared.apollo.wire import json_object, raise_for_error_status, window_delay_s
from shared.errors import RateLimited
from shared.llm.retry_after import suggested_delay_s
from shared.ratelimit.gate import CallGate, CallOutcome

__all__ = ["Answer", "ApolloHttp"]

logger = structlog.get_logger(__name__)

# Backoff when Apollo suggests no wait: 0.5 s * 2^n, capped, less up to a quarter (jitter).
_BACKOFF_INITIAL_S = 0.5
_BACKOFF_MAX_S = 8.0
# Spread of waits Apollo asked for, so throttled workers do not return in lockstep.
_SUGGESTED_WAIT_SPREAD = 0.1
_MIN_ATTEMPT_TIMEOUT_S = 0.05
_POOL_LIMITS = httpx.Limits(max_connections=20, max_keepalive_connections=10, keepalive_expiry=30)


@dataclass(frozen=True)
class Answer:
    """The JSON object of a successful call, with the timing of the attempt that got it."""

    status: int
    body: dict[str, Any]
    latency_ms: int
    request_id: str | None


@dataclass(frozen=True)
class _Limits:
    connect_timeout_s: float
    read_timeout_s: float
    total_timeout_s: float
    max_attempts: int
    max_inline_wait_s: float


class ApolloHttp:
    """Sends requests to Apollo and retries what may pass on a second try."""

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        connect_timeout_s: float,
        read_timeout_s: float,
        total_timeout_s: float,
        max_attempts: int,
        max_inline_wait_s: float,
        gate: CallGate,
        credential_key: str,
        tenant_id: str | None,
        transport: httpx.BaseTransport | None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if min(connect_timeout_s, read_timeout_s, total_timeout_s) <= 0:
            raise ValueError("timeouts must be positive")
        self._api_key = api_key
        self._limits = _Limits(
            connect_timeout_s, read_timeout_s, total_timeout_s, max_attempts, max_inline_wait_s
        )
        self._gate = gate
        self._credential_key = credential_key
        self.tenant_id = tenant_id
        self._http = httpx.Client(
            base_url=base_url,
            headers={
                "x-api-key": api_key,
                "Content-Type": "application/json",
                "Cache-Control": "no-cache",
                "Accept": "application/json",
            },
            timeout=self._timeout_within(total_timeout_s),
            limits=_POOL_LIMITS,
            transport=transport,
        )

    def call(
        self,
        method: str,
        endpoint: str,
        *,
        body: dict[str, Any] | None = None,
        params: dict[str, str] | None = None,
    ) -> Answer:
        """The JSON object Apollo answers, after retries within the total time budget."""
        total_s = self._limits.total_timeout_s
        retrying = Retrying(
            retry=retry_if_exception(self._worth_retrying),
            wait=_wait_s,
            # stop_before_delay also counts the coming wait, so the budget is never overrun.
            stop=stop_after_attempt(self._limits.max_attempts) | stop_before_delay(total_s),
            before_sleep=_log_retry,
            reraise=True,
        )
        deadline = time.monotonic() + total_s
        answer: Answer = retrying(
            self._attempt, method, endpoint, body=body, params=params, deadline=deadline
        )
        return answer

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _attempt(
        self,
        method: str,
        endpoint: str,
        *,
        body: dict[str, Any] | None,
        params: dict[str, str] | None,
        deadline: float,
    ) -> Answer:
        permit = self._gate.acquire(
            provider=PROVIDER,
            # Apollo keeps separate minute/hour/day windows for every endpoint.
            credential_key=f"{self._credential_key}/{endpoint.strip('/')}",
            tenant_id=self.tenant_id,
            estimated_tokens=0,
        )
        outcome = CallOutcome(status=None, model=endpoint.strip("/"))
        remaining_s = max(deadline - time.monotonic(), _MIN_ATTEMPT_TIMEOUT_S)
        sent = time.monotonic()
        try:
            response = self._http.request(
                method,
                endpoint,
                json=body,
                params=params,
                timeout=self._timeout_within(remaining_s),
            )
            outcome = CallOutcome(
                status=response.status_code,
                headers=dict(response.headers),
                retry_after_s=_suggested_wait_s(response),
                model=endpoint.strip("/"),
            )
        except httpx.TimeoutException as exc:
            raise ApolloUnavailable(
                status=None, reason=f"timed out ({type(exc).__name__})", endpoint=endpoint
            ) from exc
        except httpx.RequestError as exc:
            reason = f"{type(exc).__name__}: {exc}".replace(self._api_key, "***")
            raise ApolloUnavailable(status=None, reason=reason, endpoint=endpoint) from exc
        finally:
            self._gate.release(permit, outcome)
        latency_ms = round((time.monotonic() - sent) * 1000)
        raise_for_error_status(response, endpoint=endpoint, secret=self._api_key)
        return Answer(
            status=response.status_code,
            body=json_object(response, endpoint=endpoint),
            latency_ms=latency_ms,
            request_id=response.headers.get("x-request-id") or response.headers.get("request-id"),
        )

    def _worth_retrying(self, error: BaseException) -> bool:
        if isinstance(error, ApolloRateLimited):
            # A long wait would hold a worker thread: raise instead, so the task is deferred.
            return error.delay_s <= self._limits.max_inline_wait_s
        if isinstance(error, RateLimited):
            return False  # the gate already judged the wait too long to sleep out
        return isinstance(error, ApolloUnavailable)

    def _timeout_within(self, budget_s: float) -> httpx.Timeout:
        """The configured timeouts, none longer than what is left of the call's budget."""
        connect_s = min(self._limits.connect_timeout_s, budget_s)
        read_s = min(self._limits.read_timeout_s, budget_s)
        return httpx.Timeout(connect=connect_s, read=read_s, write=read_s, pool=connect_s)


def _suggested_wait_s(response: httpx.Response) -> float | None:
    """The wait a response asks for (a 429 without retry-after: until its window reopens)."""
    suggested = suggested_delay_s(response.headers)
    if suggested is None and response.status_code == 429:
        return window_delay_s(response.headers)
    return suggested


def _wait_s(retry_state: RetryCallState) -> float:
    """Apollo's suggested wait if it gave one, else jittered exponential backoff."""
    error = retry_state.outcome.exception() if retry_state.outcome else None
    if isinstance(error, ApolloRateLimited):
        return error.delay_s * (1 + random.uniform(0, _SUGGESTED_WAIT_SPREAD))
    if isinstance(error, ApolloUnavailable) and error.retry_after_s is not None:
        return error.retry_after_s * (1 + random.uniform(0, _SUGGESTED_WAIT_SPREAD))
    ceiling = min(_BACKOFF_INITIAL_S * 2.0 ** (retry_state.attempt_number - 1), _BACKOFF_MAX_S)
    return ceiling * (1 - 0.25 * random.random())


def _log_retry(retry_state: RetryCallState) -> None:
    error = retry_state.outcome.exception() if retry_state.outcome else None
    logger.warning(
        "provider.retry",
        provider=PROVIDER,
        endpoint=getattr(error, "endpoint", None),
        attempt=retry_state.attempt_number,
        wait_s=round(retry_state.upcoming_sleep, 3),
        error=type(error).__name__,
        status=getattr(error, "status", None),
    )
