"""The sandbox's request log and its rate limits (buckets refilled continuously, as OpenAI
and Anthropic describe theirs)."""

from __future__ import annotations

import hashlib
import math
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal

__all__ = ["RateLimitSnapshot", "RequestLog", "RequestRateLimit", "format_duration"]

# Reported when no limit is configured, never enforced: lets clients exercise their accounting.
NOMINAL_TOKENS_PER_MINUTE = 2_000_000
NOMINAL_REQUESTS_PER_MINUTE = 10_000
_PROVIDER_PATHS = (
    ("/v1/chat/completions", "openai"),
    ("/v1/messages", "anthropic"),
    ("/v1beta/models/", "gemini"),
    ("/api/v1/", "apollo"),
)

LimitKind = Literal["requests", "tokens"]


@dataclass(frozen=True)
class _RecordedRequest:
    path: str
    provider: str
    received_at: str
    received_mono: float
    model: str | None
    status: int
    key_fingerprint: str | None = None


class RequestLog:
    """The last ``keep`` requests received, plus how many arrived since the last reset."""

    def __init__(self, keep: int = 10_000) -> None:
        self._recent: deque[_RecordedRequest] = deque(maxlen=keep)
        self._count = 0

    def record(
        self,
        *,
        path: str,
        received_at: str | datetime,
        model: str | None,
        status: int,
        provider: str | None = None,
        received_mono: float | None = None,
        key_fingerprint: str | None = None,
    ) -> None:
        """Remember one request; ``received_mono`` is ``time.monotonic()`` at arrival.

        Only a fingerprint of the API key is kept, so tests can tell which key was used.
        """
        self._recent.append(
            _RecordedRequest(
                path=path,
                provider=provider or _provider_of(path),
                received_at=received_at
                if isinstance(received_at, str)
                else received_at.isoformat(),
                received_mono=time.monotonic() if received_mono is None else received_mono,
                model=model,
                status=status,
                key_fingerprint=key_fingerprint,
            )
        )
        self._count += 1

    def snapshot(self, window_s: float | None = None) -> dict[str, Any]:
        """The requests in order of arrival; with ``window_s``, also counts per window."""
        entries = sorted(self._recent, key=lambda entry: entry.received_mono)
        result: dict[str, Any] = {
            "count": self._count,
            "requests": [asdict(entry) for entry in entries],
        }
        if window_s is not None and window_s > 0:
            result["windows"] = _windows([e.received_mono for e in entries], window_s)
        return result

    def clear(self) -> None:
        """Forget every request."""
        self._recent.clear()
        self._count = 0


def key_fingerprint(api_key: str) -> str:
    """A short, one-way name for an API key."""
    return hashlib.sha256(api_key.encode()).hexdigest()[:12]


def _provider_of(path: str) -> str:
    return next((name for prefix, name in _PROVIDER_PATHS if path.startswith(prefix)), "unknown")


def _windows(arrivals: list[float], window_s: float) -> list[dict[str, float]]:
    """Requests per ``window_s`` window, the first window opening at the first arrival."""
    if not arrivals:
        return []
    first = arrivals[0]
    counts = Counter(int((arrival - first) // window_s) for arrival in arrivals)
    return [
        {"start_s": round(index * window_s, 6), "count": counts[index]}
        for index in range(max(counts) + 1)
    ]


@dataclass(frozen=True)
class RateLimitSnapshot:
    """What the rate-limit headers report after a request."""

    limit_requests: int
    remaining_requests: int
    reset_requests_s: float
    limit_tokens: int
    remaining_tokens: int
    reset_tokens_s: float
    retry_after_s: float

    def headers(self) -> dict[str, str]:
        """OpenAI's ``x-ratelimit-*`` headers (durations such as ``12ms`` or ``6m0s``)."""
        return {
            "x-ratelimit-limit-requests": str(self.limit_requests),
            "x-ratelimit-remaining-requests": str(self.remaining_requests),
            "x-ratelimit-reset-requests": format_duration(self.reset_requests_s),
            "x-ratelimit-limit-tokens": str(self.limit_tokens),
            "x-ratelimit-remaining-tokens": str(self.remaining_tokens),
            "x-ratelimit-reset-tokens": format_duration(self.reset_tokens_s),
        }


class _Bucket:
    """A token bucket refilled continuously to ``capacity`` over one minute."""

    def __init__(self, capacity: int, clock: Callable[[], float]) -> None:
        self.capacity = capacity
        self._per_second = capacity / 60.0
        self._level = float(capacity)
        self._clock = clock
        self._updated = clock()

    def level(self) -> float:
        now = self._clock()
        self._level = min(self.capacity, self._level + (now - self._updated) * self._per_second)
        self._updated = now
        return self._level

    def take(self, amount: float) -> None:
        self._level = max(self.level() - amount, 0.0)

    def seconds_until(self, level: float) -> float:
        return max(level - self.level(), 0.0) / self._per_second


class RequestRateLimit:
    """Requests and tokens per minute, each a bucket that refills continuously."""

    def __init__(
        self,
        requests_per_minute: int | None,
        tokens_per_minute: int | None = None,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._requests_per_minute = requests_per_minute
        self._tokens_per_minute = tokens_per_minute
        self.reset()

    @property
    def enforced(self) -> bool:
        """Whether any limit was configured (else only nominal limits are reported)."""
        return self._requests_per_minute is not None or self._tokens_per_minute is not None

    def admit(self, tokens: int = 0) -> tuple[LimitKind, float] | None:
        """Take one request and ``tokens`` from the buckets; or, taking nothing, the limit
        that is spent and the seconds until it would admit this request."""
        if self._requests_per_minute is not None and self._requests.level() < 1:
            return "requests", self._requests.seconds_until(1)
        needed = min(tokens, self._tokens.capacity)
        if self._tokens_per_minute is not None and self._tokens.level() < needed:
            return "tokens", self._tokens.seconds_until(needed)
        self._requests.take(1)
        self._tokens.take(needed)
        return None

    def snapshot(self) -> RateLimitSnapshot:
        """What the buckets hold now, as rate-limit headers report it."""
        return RateLimitSnapshot(
            limit_requests=self._requests.capacity,
            remaining_requests=math.floor(self._requests.level()),
            reset_requests_s=self._requests.seconds_until(self._requests.capacity),
            limit_tokens=self._tokens.capacity,
            remaining_tokens=math.floor(self._tokens.level()),
            reset_tokens_s=self._tokens.seconds_until(self._tokens.capacity),
            retry_after_s=self._requests.seconds_until(1),
        )

    def reset(self) -> None:
        """Refill both buckets."""
        self._requests = _Bucket(
            self._requests_per_minute or NOMINAL_REQUESTS_PER_MINUTE, self._clock
        )
        self._tokens = _Bucket(self._tokens_per_minute or NOMINAL_TOKENS_PER_MINUTE, self._clock)


def format_duration(seconds: float) -> str:
    """A Go-style duration as OpenAI writes it: ``12ms``, ``1.5s``, ``6m0s``."""
    if seconds < 1:
        return f"{math.ceil(seconds * 1000)}ms"
    if seconds < 60:
        return f"{round(seconds, 3):g}s"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}m{round(rest, 3):g}s"
