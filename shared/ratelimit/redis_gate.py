"""The :class:`~shared.ratelimit.gate.CallGate` every process shares through Redis."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence

import redis
import structlog

from shared.errors import RateLimited, TransientError
from shared.ratelimit.gate import CallOutcome, CallPermit
from shared.ratelimit.headers import observe_headers
from shared.ratelimit.leases import TenantLeases
from shared.ratelimit.limits import Limit
from shared.ratelimit.schedule import BackoffPolicy, RateSchedule

__all__ = ["RedisCallGate"]

log = structlog.get_logger(__name__)

# How often a caller waiting for a tenant's lease looks again (leases free up when calls end).
_LEASE_POLL_S = 0.05


class RedisCallGate:
    """Provider call slots and tenant concurrency leases, shared through Redis.

    ``acquire`` sleeps until the caller's slot when it comes within ``max_inline_wait_s``
    and raises :class:`~shared.errors.RateLimited` otherwise (nothing reserved, so the
    deferred task spends no retry and takes no capacity). ``release`` trues up tokens,
    learns limits from the provider's headers and backs off on a 429.

    ``jitter_allowance_s`` pads every window: a request reaches the provider a few
    milliseconds after its slot, and evenly spaced slots at exactly the limit would let two
    such delays squeeze one request too many into a provider's window. (Measured: ~7 ms of
    spread with 2 processes x 4 threads; 25 ms costs 2.5 % of a 1 s window, 0.04 % of 60 s.)

    A tenant's lease is taken before its slot, so callers waiting for a slot count against
    ``tenant_max_concurrent`` too.
    """

    def __init__(
        self,
        redis: redis.Redis,
        *,
        key_prefix: str,
        limits_for: Callable[[str, str], Sequence[Limit]],
        max_inline_wait_s: float,
        tenant_max_concurrent: int | None = None,
        lease_s: float = 120.0,
        sleep: Callable[[float], None] = time.sleep,
        jitter_allowance_s: float = 0.025,
        backoff: BackoffPolicy | None = None,
    ) -> None:
        if max_inline_wait_s < 0 or lease_s <= 0 or jitter_allowance_s < 0:
            raise ValueError("waits and leases must not be negative")
        if tenant_max_concurrent is not None and tenant_max_concurrent < 1:
            raise ValueError("tenant_max_concurrent must be at least 1")
        self._limits_for = limits_for
        self._max_wait_s = max_inline_wait_s
        self._tenant_max = tenant_max_concurrent
        self._lease_s = lease_s
        self._sleep = sleep
        self._schedule = RateSchedule(
            redis, key_prefix=key_prefix, jitter_allowance_s=jitter_allowance_s, backoff=backoff
        )
        self._leases = TenantLeases(redis, key_prefix=key_prefix)

    def acquire(
        self,
        *,
        provider: str,
        credential_key: str,
        tenant_id: str | None,
        estimated_tokens: int,
    ) -> CallPermit:
        """Wait for a slot, or raise ``RateLimited`` when the wait would be too long."""
        limits = self._limits_for(provider, credential_key)
        tokens = max(estimated_tokens, 0)
        try:
            lease_id, waited = self._take_lease(tenant_id)
            try:
                waited += self._wait_for_slot(provider, credential_key, limits, tokens, waited)
            except BaseException:
                if lease_id is not None and tenant_id is not None:
                    self._leases.give_back(tenant_id, lease_id)
                raise
        except redis.RedisError as exc:
            raise TransientError(f"rate governor unavailable: {type(exc).__name__}") from exc
        return CallPermit(
            provider, credential_key, tenant_id, tokens, waited_s=waited, lease_id=lease_id
        )

    def release(self, permit: CallPermit, outcome: CallOutcome) -> None:
        """Settle the permit: true up tokens, learn limits from headers, back off on a 429."""
        try:
            if permit.lease_id is not None and permit.tenant_id is not None:
                self._leases.give_back(permit.tenant_id, permit.lease_id)
            self._settle(permit, outcome)
        except redis.RedisError as exc:
            # The call itself is done; a lost settlement only costs accuracy until keys expire.
            log.warning("rate.release_failed", provider=permit.provider, error=type(exc).__name__)

    def _settle(self, permit: CallPermit, outcome: CallOutcome) -> None:
        limits = self._limits_for(permit.provider, permit.credential_key)
        # Without a response nobody knows what was spent: the estimate stands.
        token_delta = 0 if outcome.status is None else outcome.tokens_used - permit.reserved_tokens
        settled = self._schedule.settle(
            permit.provider,
            permit.credential_key,
            limits,
            status=outcome.status,
            token_delta=token_delta,
            retry_after_s=outcome.retry_after_s,
            observed=observe_headers(outcome.headers),
            next_tokens=permit.reserved_tokens,
        )
        if outcome.status == 429:
            log.warning(
                "rate.backoff",
                provider=permit.provider,
                credential_key=permit.credential_key,
                rate_cut=settled.rate_cut,
                rate_factor=settled.factor,
                hold_s=round(settled.hold_s, 3),
            )

    def _take_lease(self, tenant_id: str | None) -> tuple[str | None, float]:
        """A concurrency lease for the tenant (None without a cap), and the time waited."""
        if self._tenant_max is None or tenant_id is None:
            return None, 0.0
        lease_id = uuid.uuid4().hex
        waited = 0.0
        while True:
            until_free_s = self._leases.try_take(
                tenant_id, lease_id, max_live=self._tenant_max, lease_s=self._lease_s
            )
            if until_free_s is None:
                return lease_id, waited
            if waited >= self._max_wait_s:
                delay_s = min(until_free_s, max(self._max_wait_s, 1.0))
                log.info("rate.deferred", tenant_id=tenant_id, reason="tenant_concurrency")
                raise RateLimited(
                    f"tenant {tenant_id} concurrency limit: {self._tenant_max} calls in flight",
                    delay_s=delay_s,
                )
            pause_s = max(min(_LEASE_POLL_S, self._max_wait_s - waited, until_free_s), 0.001)
            self._sleep(pause_s)
            waited += pause_s

    def _wait_for_slot(
        self,
        provider: str,
        credential_key: str,
        limits: Sequence[Limit],
        tokens: int,
        waited_before_s: float,
    ) -> float:
        """Reserve a slot and sleep until it comes; the seconds slept."""
        waited = 0.0
        while True:
            budget_s = max(self._max_wait_s - waited_before_s - waited, 0.0)
            slot = self._schedule.reserve(
                provider, credential_key, limits, tokens=tokens, max_wait_s=budget_s
            )
            if not slot.reserved:
                log.info(
                    "rate.deferred",
                    provider=provider,
                    credential_key=credential_key,
                    delay_s=round(slot.wait_s, 3),
                )
                raise RateLimited(
                    f"{provider} rate limit: next slot in {slot.wait_s:.2f}s", delay_s=slot.wait_s
                )
            if slot.wait_s <= 0:
                return waited
            self._sleep(slot.wait_s)
            waited += slot.wait_s
            # A 429 answered while we slept moves the provider's retry time past our slot:
            # sending now would be refused, so queue again behind it.
            if self._schedule.hold_until_us(provider, credential_key) <= slot.slot_us:
                log.debug("rate.waited", provider=provider, waited_s=round(waited, 3))
                return waited
