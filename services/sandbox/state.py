"""What one sandbox app remembers between requests: the current scenario (config), the
request log, the rate limits per provider and the fault dice.

Every router reads the state through ``config``, ``log`` and ``should_fail()`` (the Apollo
router depends on exactly those names). It lives on one event loop, so it needs no locks.
"""

from __future__ import annotations

import random
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import asdict, fields
from typing import Any

from pydantic import TypeAdapter

from services.sandbox.config import FAULTS, Fault, SandboxConfig
from services.sandbox.limits import RequestLog, RequestRateLimit

__all__ = ["INVALID_KEY_PREFIX", "SandboxState"]

# An API key starting with this is refused as a wrong key (a missing key always is), so
# tests can reach each provider's authentication error.
INVALID_KEY_PREFIX = "invalid"
_NEXT_FAULTS = "next_faults"


class SandboxState:
    """The sandbox's mutable state; scenarios replace the config while it runs."""

    def __init__(
        self, config: SandboxConfig, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._initial = config
        self._clock = clock
        self.log = RequestLog()
        self._config = config
        self._limits: dict[str, RequestRateLimit] = {}
        self._faults = random.Random(config.seed)
        self._queue: deque[Fault] = deque()
        self._storm_until = 0.0
        self._start(config)

    @property
    def config(self) -> SandboxConfig:
        """The scenario in force."""
        return self._config

    def should_fail(self) -> bool:
        """Whether this request gets a server error: a queued ``error`` fault, or by rate."""
        if self._queue and self._queue[0] == "error":
            self._queue.popleft()
            return True
        return self.roll(self._config.error_rate)

    def roll(self, rate: float) -> bool:
        """True for a fraction ``rate`` of calls (seeded, so runs repeat)."""
        return rate > 0 and self._faults.random() < rate

    def take_fault(self) -> Fault | None:
        """The next queued fault, if a scenario queued any."""
        return self._queue.popleft() if self._queue else None

    def storm_remaining_s(self) -> float:
        """Seconds left of the current rate-limit storm (0 when there is none)."""
        return max(self._storm_until - self._clock(), 0.0)

    def limits(self, provider: str) -> RequestRateLimit:
        """The rate limit of one provider (each provider's limits are its own)."""
        limit = self._limits.get(provider)
        if limit is None:
            limit = RequestRateLimit(
                self._config.requests_per_minute, self._config.tokens_per_minute
            )
            self._limits[provider] = limit
        return limit

    def apply_scenario(self, changes: Mapping[str, Any]) -> None:
        """Change config fields and queue faults (``next_faults``) while the sandbox runs.

        Raises ``ValueError`` naming an unknown field, a wrong type or an out-of-range value.
        """
        known = {field.name for field in fields(SandboxConfig)}
        unknown = sorted(set(changes) - known - {_NEXT_FAULTS})
        if unknown:
            raise ValueError(f"unknown scenario fields: {', '.join(unknown)}")
        queued = changes.get(_NEXT_FAULTS, [])
        if not isinstance(queued, list) or any(fault not in FAULTS for fault in queued):
            raise ValueError(f"next_faults must be a list of: {', '.join(FAULTS)}")
        updates = {key: value for key, value in changes.items() if key != _NEXT_FAULTS}
        config = TypeAdapter(SandboxConfig).validate_python({**asdict(self._config), **updates})
        limits_changed = (config.requests_per_minute, config.tokens_per_minute) != (
            self._config.requests_per_minute,
            self._config.tokens_per_minute,
        )
        self._config = config
        if limits_changed:
            self._limits.clear()
        if "rate_limit_storm_s" in updates:
            self._storm_until = self._clock() + config.rate_limit_storm_s
        self._queue.extend(queued)

    def scenario(self) -> dict[str, Any]:
        """The scenario in force, as ``GET /_sandbox/scenario`` reports it."""
        return {
            **asdict(self._config),
            "storm_remaining_s": round(self.storm_remaining_s(), 3),
            _NEXT_FAULTS: list(self._queue),
        }

    def reset(self) -> None:
        """Back to the startup config: no requests recorded, limits full, no faults queued."""
        self.log.clear()
        self._start(self._initial)

    def _start(self, config: SandboxConfig) -> None:
        self._config = config
        self._limits = {}
        self._faults = random.Random(config.seed)
        self._queue = deque()
        self._storm_until = self._clock() + config.rate_limit_storm_s
