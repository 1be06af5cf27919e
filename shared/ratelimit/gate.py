"""The seam between provider clients and rate limiting.

A client asks the gate for a permit before each HTTP request and reports the outcome after
it. The gate may sleep until the caller's slot comes (a short wait) or raise
:class:`~shared.errors.RateLimited` with the delay (a long wait: the task is deferred without
spending a retry). It learns from what providers answer: rate-limit headers correct its
limits, and a 429 lowers the rate until the provider recovers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

__all__ = ["CallGate", "CallOutcome", "CallPermit", "OpenGate"]


@dataclass(frozen=True)
class CallPermit:
    """Handed out by :meth:`CallGate.acquire`; passed back to :meth:`CallGate.release`."""

    provider: str
    credential_key: str
    """Stable, non-secret id of the credential whose limits apply (e.g. ``platform`` or a
    credential row id): limits are per provider credential, across every process."""
    tenant_id: str | None
    reserved_tokens: int
    waited_s: float = 0.0
    lease_id: str | None = None


@dataclass(frozen=True)
class CallOutcome:
    status: int | None
    """HTTP status, or None when no response came (timeout, connection error)."""
    tokens_used: int = 0
    headers: Mapping[str, str] = field(default_factory=dict)
    retry_after_s: float | None = None
    model: str | None = None
    """The model (LLM) or endpoint (Apollo) called, for metrics."""


class CallGate(Protocol):
    def acquire(
        self,
        *,
        provider: str,
        credential_key: str,
        tenant_id: str | None,
        estimated_tokens: int,
    ) -> CallPermit:
        """Wait for a slot, or raise ``RateLimited`` when the wait would be too long."""

    def release(self, permit: CallPermit, outcome: CallOutcome) -> None:
        """Settle the permit: true up tokens, learn limits from headers, back off on a 429."""


class OpenGate:
    """No limiting at all (unit tests, and clients built without a gate)."""

    def acquire(
        self,
        *,
        provider: str,
        credential_key: str,
        tenant_id: str | None,
        estimated_tokens: int,
    ) -> CallPermit:
        return CallPermit(provider, credential_key, tenant_id, estimated_tokens)

    def release(self, permit: CallPermit, outcome: CallOutcome) -> None:
        return None
