"""How long a provider asks us to wait, read from its response headers (or error body).

OpenAI writes durations (``6m0s``), Anthropic RFC 3339 reset times, Gemini protobuf
durations (``58s``) inside its error body; all of them may send ``retry-after``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

__all__ = [
    "anthropic_suggested_delay_s",
    "parse_duration_s",
    "parse_google_duration_s",
    "parse_retry_after_s",
    "parse_rfc3339_delay_s",
    "suggested_delay_s",
]

_GOOGLE_DURATION = re.compile(r"(\d+(?:\.\d+)?)s")
_ANTHROPIC_LIMITS = ("requests", "tokens", "input-tokens", "output-tokens")
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}


def parse_duration_s(text: str) -> float | None:
    """Seconds in a Go-style duration such as ``12ms``, ``6m0s`` or ``1.5s`` (None if malformed).

    OpenAI sends its ``x-ratelimit-reset-*`` headers in this form; a bare number is read as
    seconds.
    """
    text = text.strip()
    if not text:
        return None
    plain = _seconds(text)
    if plain is not None:
        return plain
    total = 0.0
    position = 0
    for part in _DURATION_PART.finditer(text):
        if part.start() != position:
            return None
        total += float(part.group(1)) * _UNIT_SECONDS[part.group(2)]
        position = part.end()
    return total if position == len(text) else None


def parse_retry_after_s(value: str, *, now: datetime | None = None) -> float | None:
    """Seconds in a ``Retry-After`` header: delta-seconds or an HTTP date (None if malformed)."""
    value = value.strip()
    if not value:
        return None
    seconds = _seconds(value)
    if seconds is not None:
        return seconds
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


def suggested_delay_s(headers: Mapping[str, str]) -> float | None:
    """The wait the provider suggests, or None when its headers say nothing usable.

    Precedence follows the OpenAI SDK: ``retry-after-ms``, then ``retry-after``; after that the
    ``x-ratelimit-reset-*`` of the exhausted limit (both exhausted: the later one).
    """
    retry_after_ms = _seconds(headers.get("retry-after-ms", ""))
    if retry_after_ms is not None:
        return retry_after_ms / 1000.0
    retry_after = headers.get("retry-after")
    if retry_after is not None:
        seconds = parse_retry_after_s(retry_after)
        if seconds is not None:
            return seconds
    return _rate_limit_reset_s(headers)


def parse_rfc3339_delay_s(value: str, *, now: datetime | None = None) -> float | None:
    """Seconds until an RFC 3339 time such as ``2026-01-15T09:00:30Z`` (None if malformed)."""
    try:
        when = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - (now or datetime.now(UTC))).total_seconds(), 0.0)


def parse_google_duration_s(text: object) -> float | None:
    """Seconds in a protobuf JSON duration such as ``58s`` or ``0.250s`` (None if malformed)."""
    if not isinstance(text, str):
        return None
    match = _GOOGLE_DURATION.fullmatch(text.strip())
    return float(match.group(1)) if match else None


def anthropic_suggested_delay_s(
    headers: Mapping[str, str], *, now: datetime | None = None
) -> float | None:
    """Anthropic's suggested wait: ``retry-after``, else the ``anthropic-ratelimit-*-reset``
    time of the exhausted limit (RFC 3339), else None."""
    retry_after = headers.get("retry-after")
    if retry_after is not None:
        seconds = parse_retry_after_s(retry_after, now=now)
        if seconds is not None:
            return seconds
    resets = [
        (
            headers.get(f"anthropic-ratelimit-{kind}-remaining", ""),
            parse_rfc3339_delay_s(headers.get(f"anthropic-ratelimit-{kind}-reset", ""), now=now),
        )
        for kind in _ANTHROPIC_LIMITS
    ]
    return _first_useful_reset(resets)


def _seconds(text: str) -> float | None:
    """A plain non-negative finite number, or None."""
    try:
        value = float(text)
    except ValueError:
        return None
    return max(value, 0.0) if math.isfinite(value) else None


def _rate_limit_reset_s(headers: Mapping[str, str]) -> float | None:
    resets = [
        (
            headers.get(f"x-ratelimit-remaining-{kind}", ""),
            parse_duration_s(headers.get(f"x-ratelimit-reset-{kind}", "")),
        )
        for kind in ("requests", "tokens")
    ]
    return _first_useful_reset(resets)


def _first_useful_reset(resets: list[tuple[str, float | None]]) -> float | None:
    """The later reset of the exhausted limits, else the earliest reset of any limit."""
    exhausted: list[float] = []
    others: list[float] = []
    for remaining, reset in resets:
        if reset is None:
            continue
        if remaining.strip() == "0":
            exhausted.append(reset)
        else:
            others.append(reset)
    if exhausted:
        return max(exhausted)
    # No limit reads as spent (e.g. this request alone would overdraw the tokens): the
    # earliest reset is the first moment anything changes.
    return min(others) if others else None
