"""Slots for provider calls, shared by every process through Redis (GCRA virtual scheduling).

Each limit of a credential keeps a theoretical arrival time (TAT). A call's slot is the
latest of now, the provider's retry time and every limit's TAT; taking it moves each TAT on
by the call's cost times the limit's interval. Slots are therefore evenly spaced, never
bunched, which is what keeps every window of every limit within its capacity.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import redis

from shared.ratelimit.headers import Observation
from shared.ratelimit.limits import Limit
from shared.ratelimit.scripts import RESERVE, SETTLE

__all__ = ["BackoffPolicy", "RateSchedule", "Reservation", "Settlement"]

_US = 1_000_000
# Idle credentials' state (learned limits, a lowered rate) is forgotten after this long.
_IDLE_TTL_MS = 3_600_000


@dataclass(frozen=True)
class BackoffPolicy:
    """How a 429 lowers a credential's rate, and how successes bring it back (AIMD)."""

    decrease: float = 0.5
    """Factor applied to the rate on a 429."""
    floor: float = 0.1
    """The rate never drops below this fraction of the limits."""
    step: float = 0.05
    """Fraction of the limits given back per successful call."""
    fallback_retry_s: float = 1.0
    """Pause after a 429 that named no retry time."""

    def __post_init__(self) -> None:
        if not 0 < self.decrease < 1 or not 0 < self.floor <= 1 or self.step <= 0:
            raise ValueError("backoff needs 0 < decrease < 1, 0 < floor <= 1 and step > 0")


@dataclass(frozen=True)
class Reservation:
    """The answer of :meth:`RateSchedule.reserve`."""

    reserved: bool
    wait_s: float
    slot_us: int
    """The slot in Redis server time (microseconds since the epoch)."""


@dataclass(frozen=True)
class Settlement:
    """The answer of :meth:`RateSchedule.settle`."""

    rate_cut: bool
    factor: float
    hold_s: float


class RateSchedule:
    """Reserves and settles slots of one credential's limits, atomically, in Redis."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        key_prefix: str,
        jitter_allowance_s: float = 0.025,
        backoff: BackoffPolicy | None = None,
    ) -> None:
        self._client = client
        self._prefix = key_prefix
        self._jitter_us = round(jitter_allowance_s * _US)
        self._backoff = backoff or BackoffPolicy()
        self._reserve = client.register_script(RESERVE)
        self._settle = client.register_script(SETTLE)

    def keys(self, provider: str, credential_key: str, limits: Sequence[Limit]) -> list[str]:
        """The control key, then one key per limit (one hash tag: one Redis Cluster slot)."""
        base = f"{self._prefix}:rate:{{{provider}:{credential_key}}}"
        return [f"{base}:control", *(f"{base}:limit:{limit.name}" for limit in limits)]

    def reserve(
        self,
        provider: str,
        credential_key: str,
        limits: Sequence[Limit],
        *,
        tokens: int,
        max_wait_s: float,
    ) -> Reservation:
        """Take the next slot of every limit if it comes within ``max_wait_s``, else none."""
        args: list[int] = [round(max_wait_s * _US), _IDLE_TTL_MS, self._jitter_us]
        for limit in limits:
            args += [limit.capacity, round(limit.window_s * _US), limit.cost(tokens)]
        reserved, wait_us, slot_us = self._reserve(
            keys=self.keys(provider, credential_key, limits), args=args
        )
        return Reservation(bool(int(reserved)), max(int(wait_us), 0) / _US, int(slot_us))

    def settle(
        self,
        provider: str,
        credential_key: str,
        limits: Sequence[Limit],
        *,
        status: int | None,
        token_delta: int,
        retry_after_s: float | None,
        observed: Mapping[str, Observation],
        next_tokens: int,
    ) -> Settlement:
        """Record a call's outcome: tokens trued up, limits learned, backoff or recovery.

        ``next_tokens`` sizes the next call when judging whether the provider's reported
        remaining budget still holds one.
        """
        policy = self._backoff
        args: list[int | float] = [
            _IDLE_TTL_MS,
            self._jitter_us,
            _outcome(status),
            -1 if retry_after_s is None else round(max(retry_after_s, 0.0) * _US),
            round(policy.fallback_retry_s * _US),
            policy.decrease,
            policy.floor,
            policy.step,
        ]
        for limit in limits:
            seen = observed.get(limit.name, Observation())
            provider_wait = seen.wait_for_s(limit.cost(next_tokens))
            args += [
                limit.capacity,
                round(limit.window_s * _US),
                token_delta if limit.counts_tokens else 0,
                seen.limit if seen.limit else -1,
                -1 if provider_wait is None else round(provider_wait * _US),
            ]
        cut, factor, hold_us = self._settle(
            keys=self.keys(provider, credential_key, limits), args=args
        )
        return Settlement(bool(int(cut)), float(factor), max(int(hold_us), 0) / _US)

    def hold_until_us(self, provider: str, credential_key: str) -> int:
        """The provider's retry time for this credential (0: none), in Redis server time."""
        control = self.keys(provider, credential_key, ())[0]
        value = self._client.hget(control, "hold")
        return int(float(value)) if value is not None else 0


def _outcome(status: int | None) -> int:
    if status == 429:
        return 2
    if status is not None and 200 <= status < 400:
        return 1
    return 0
