"""Reading the sandbox provider's request log for rate-limit checks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import httpx

__all__ = ["Arrival", "arrivals", "max_in_any_window"]


@dataclass(frozen=True)
class Arrival:
    """When the sandbox received a request (epoch seconds), what it answered, which model."""

    at: float
    status: int
    model: str | None


def arrivals(sandbox_url: str) -> list[Arrival]:
    """Every chat completion the sandbox recorded, oldest first."""
    recorded = httpx.get(f"{sandbox_url}/_sandbox/requests", timeout=10).json()["requests"]
    found = [
        Arrival(
            datetime.fromisoformat(entry["received_at"]).timestamp(),
            entry["status"],
            entry.get("model"),
        )
        for entry in recorded
    ]
    return sorted(found, key=lambda arrival: arrival.at)


def max_in_any_window(times: list[float], window_s: float) -> int:
    """The most timestamps in any half-open window ``[t, t + window_s)`` (times sorted)."""
    most, first = 0, 0
    for last, moment in enumerate(times):
        while moment - times[first] >= window_s:
            first += 1
        most = max(most, last - first + 1)
    return most
