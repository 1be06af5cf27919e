"""What providers report about their rate limits, read from response headers.

* OpenAI: ``x-ratelimit-{limit,remaining,reset}-{requests,tokens}``; reset is a Go-style
  duration (``12ms``, ``6m0s``) until the bucket is full again.
* Anthropic: ``anthropic-ratelimit-{requests,tokens,input-tokens,output-tokens}-
  {limit,remaining,reset}``; reset is an RFC 3339 time when the bucket is full again.
* Apollo: ``x-rate-limit-{minute,hourly,24-hour}`` and ``x-{minute,hourly,24-hour}-requests-left``
  (or ``-usage``); fixed windows whose reset is not reported.

Observations are keyed by the :class:`~shared.ratelimit.limits.Limit` name they describe.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["Observation", "observe_headers", "parse_duration_s"]

_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT_S = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_OPENAI_KINDS = {"requests": "requests", "tokens": "tokens"}
_ANTHROPIC_KINDS = {
    "requests": "requests",
    "tokens": "tokens",
    "input-tokens": "input_tokens",
    "output-tokens": "output_tokens",
}
_APOLLO_WINDOWS = {
    "minute": "requests_minute",
    "hourly": "requests_hour",
    "24-hour": "requests_day",
}


@dataclass(frozen=True)
class Observation:
    """One limit as the provider reported it after a call (None: not reported)."""

    limit: int | None = None
    remaining: int | None = None
    reset_s: float | None = None
    """Seconds until the provider's bucket is full again (None for fixed windows)."""

    def wait_for_s(self, cost: int) -> float | None:
        """How long until the provider's bucket holds ``cost`` more units, if it lacks them.

        None when it has them or the headers do not say; the bucket is taken to refill
        evenly, from ``remaining`` to ``limit`` in ``reset_s``.
        """
        if self.remaining is None or self.reset_s is None or self.limit is None:
            return None
        if self.remaining >= cost or self.limit <= self.remaining:
            return None
        per_unit_s = self.reset_s / (self.limit - self.remaining)
        return min((cost - self.remaining) * per_unit_s, self.reset_s)


def observe_headers(
    headers: Mapping[str, str], *, now: datetime | None = None
) -> dict[str, Observation]:
    """Every limit the response headers report on, by limit name (any provider's format)."""
    lowered = {key.lower(): value for key, value in headers.items()}
    found: dict[str, Observation] = {}
    for kind, name in _OPENAI_KINDS.items():
        _add(
            found,
            name,
            limit=_int(lowered.get(f"x-ratelimit-limit-{kind}")),
            remaining=_int(lowered.get(f"x-ratelimit-remaining-{kind}")),
            reset_s=parse_duration_s(lowered.get(f"x-ratelimit-reset-{kind}", "")),
        )
    for kind, name in _ANTHROPIC_KINDS.items():
        prefix = f"anthropic-ratelimit-{kind}"
        _add(
            found,
            name,
            limit=_int(lowered.get(f"{prefix}-limit")),
            remaining=_int(lowered.get(f"{prefix}-remaining")),
            reset_s=_seconds_until(lowered.get(f"{prefix}-reset"), now),
        )
    for window, name in _APOLLO_WINDOWS.items():
        limit = _int(lowered.get(f"x-rate-limit-{window}"))
        remaining = _int(lowered.get(f"x-{window}-requests-left"))
        used = _int(lowered.get(f"x-{window}-usage"))
        if remaining is None and limit is not None and used is not None:
            remaining = max(limit - used, 0)
        _add(found, name, limit=limit, remaining=remaining, reset_s=None)
    return found


def parse_duration_s(text: str) -> float | None:
    """Seconds in a Go-style duration (``12ms``, ``1.5s``, ``6m0s``) or a bare number."""
    text = text.strip()
    if not text:
        return None
    plain = _float(text)
    if plain is not None:
        return plain
    total, position = 0.0, 0
    for part in _DURATION_PART.finditer(text):
        if part.start() != position:
            return None
        total += float(part.group(1)) * _UNIT_S[part.group(2)]
        position = part.end()
    return total if position == len(text) else None


def _add(
    found: dict[str, Observation],
    name: str,
    *,
    limit: int | None,
    remaining: int | None,
    reset_s: float | None,
) -> None:
    if limit is None and remaining is None:
        return
    found[name] = Observation(limit=limit, remaining=remaining, reset_s=reset_s)


def _int(value: str | None) -> int | None:
    number = _float(value) if value is not None else None
    return None if number is None else math.floor(number)


def _float(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return max(value, 0.0) if math.isfinite(value) else None


def _seconds_until(value: str | None, now: datetime | None) -> float | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)
