"""A call gate that measures: governor waits and deferrals, provider requests and latency.

It wraps the real gate, so every provider HTTP request (each retry included) is counted once,
by provider, model (LLM) or endpoint (Apollo) and status class.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import structlog

from shared.errors import RateLimited
from shared.metrics import fleet_metrics
from shared.ratelimit.gate import CallGate, CallOutcome, CallPermit
from shared.ratelimit.limits import Limit

__all__ = ["MeteredGate", "status_class"]

log = structlog.get_logger(__name__)


def status_class(status: int | None) -> str:
    """``2xx``, ``429``, ``4xx``, ``5xx``, or ``error`` when no response came."""
    if status is None:
        return "error"
    if status == 429:
        return "429"
    return f"{status // 100}xx"


class MeteredGate:
    def __init__(self, inner: CallGate, limits_for: Callable[[str, str], list[Limit]]) -> None:
        self._inner = inner
        self._limits_for = limits_for
        self._sent_at: dict[int, float] = {}
        self._lock = threading.Lock()

    def acquire(
        self,
        *,
        provider: str,
        credential_key: str,
        tenant_id: str | None,
        estimated_tokens: int,
    ) -> CallPermit:
        metrics = fleet_metrics()
        asked = time.monotonic()
        try:
            permit = self._inner.acquire(
                provider=provider,
                credential_key=credential_key,
                tenant_id=tenant_id,
                estimated_tokens=estimated_tokens,
            )
        except RateLimited:
            metrics.governor_permits.labels(provider, "deferred").inc()
            raise
        granted = time.monotonic()
        metrics.governor_permits.labels(provider, "granted").inc()
        metrics.governor_wait.labels(provider).observe(permit.waited_s or granted - asked)
        capacity = _requests_per_second(self._limits_for(provider, credential_key))
        if capacity is not None:
            metrics.governor_capacity.labels(provider).set(capacity)
        with self._lock:
            self._sent_at[id(permit)] = granted
        return permit

    def release(self, permit: CallPermit, outcome: CallOutcome) -> None:
        with self._lock:
            sent_at = self._sent_at.pop(id(permit), None)
        try:
            self._inner.release(permit, outcome)
        finally:
            metrics = fleet_metrics()
            model = outcome.model or "-"
            status = status_class(outcome.status)
            elapsed_s = time.monotonic() - sent_at if sent_at is not None else None
            metrics.provider_requests.labels(permit.provider, model, status).inc()
            if elapsed_s is not None:
                metrics.provider_latency.labels(permit.provider, model).observe(elapsed_s)
            # The log context adds the tenant, task, agent type and trace of the work in hand.
            log.info(
                "provider.request",
                provider=permit.provider,
                model=model,
                status=outcome.status,
                latency_ms=round(elapsed_s * 1000) if elapsed_s is not None else None,
                waited_ms=round(permit.waited_s * 1000),
            )


def _requests_per_second(limits: list[Limit]) -> float | None:
    """The tightest request rate among ``limits`` (the one that binds in a steady state)."""
    rates = [limit.capacity / limit.window_s for limit in limits if not limit.counts_tokens]
    return min(rates) if rates else None
