"""Learning limits from providers' headers, run against fakeredis and the real Redis.

See :mod:`tests.support.rate_suite` for how the suites are run.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from shared.ratelimit import CallOutcome, Limit
from tests.support.rate_suite import TOLERANCE_S, Gate, GateFixtures, acquire


class HeaderLearningSuite(GateFixtures):
    """Reported limits lower the rate for every process; an exhausted budget holds slots."""

    def test_openai_reported_limits_lower_the_rate_for_every_process(
        self, make_gate: Callable[..., Gate]
    ) -> None:
        limits = [Limit("requests", 600, 60.0), Limit("tokens", 1_000_000, 60.0)]
        gate, _ = make_gate(limits)
        headers = {"X-RateLimit-Limit-Requests": "60", "x-ratelimit-limit-tokens": "9000000"}
        gate.release(acquire(gate), CallOutcome(status=200, headers=headers))
        other_process, sleep = make_gate(limits)
        acquire(other_process)
        acquire(other_process)
        # The slot after the first was set at 600/min (0.1 s); then 60/min spacing applies.
        assert sleep.waits == pytest.approx([0.1, 1.1], abs=TOLERANCE_S)

    def test_openai_exhausted_tokens_hold_the_next_slot(
        self, make_gate: Callable[..., Gate]
    ) -> None:
        gate, sleep = make_gate([Limit("requests", 6000, 60.0), Limit("tokens", 1_000_000, 60.0)])
        headers = {
            "x-ratelimit-limit-tokens": "1000",
            "x-ratelimit-remaining-tokens": "0",
            "x-ratelimit-reset-tokens": "30s",
        }
        gate.release(acquire(gate, tokens=100), CallOutcome(200, tokens_used=100, headers=headers))
        acquire(gate, tokens=100)
        # The provider refills 1000 tokens in 30 s: the next 100 come in 3 s.
        assert sleep.waits == pytest.approx([3.0], abs=TOLERANCE_S)

    def test_anthropic_reported_limits_are_learned(self, make_gate: Callable[..., Gate]) -> None:
        gate, sleep = make_gate([Limit("requests", 600, 60.0), Limit("tokens", 1_000_000, 60.0)])
        reset = (datetime.now(UTC) + timedelta(seconds=20)).isoformat().replace("+00:00", "Z")
        headers = {
            "anthropic-ratelimit-requests-limit": "30",
            "anthropic-ratelimit-requests-remaining": "29",
            "anthropic-ratelimit-requests-reset": reset,
            "anthropic-ratelimit-tokens-limit": "1000",
            "anthropic-ratelimit-tokens-remaining": "0",
            "anthropic-ratelimit-tokens-reset": reset,
            "anthropic-ratelimit-input-tokens-limit": "10",
        }
        gate.release(acquire(gate, tokens=50), CallOutcome(200, tokens_used=50, headers=headers))
        acquire(gate, tokens=50)
        acquire(gate, tokens=50)
        # 50 of 1000 tokens refilling over 20 s: 1 s; then tokens at 1000/min bind (3 s/50),
        # input-tokens has no limit of its own here and is ignored.
        assert sleep.waits == pytest.approx([1.0, 4.0], abs=TOLERANCE_S)

    def test_apollo_reported_windows_are_learned(self, make_gate: Callable[..., Gate]) -> None:
        limits = [
            Limit("requests_minute", 600, 60.0),
            Limit("requests_hour", 36_000, 3600.0),
            Limit("requests_day", 864_000, 86_400.0),
        ]
        gate, sleep = make_gate(limits)
        headers = {
            "x-rate-limit-minute": "60",
            "x-minute-requests-left": "59",
            "x-rate-limit-hourly": "360",
            "x-hourly-usage": "1",
            "x-rate-limit-24-hour": "50000",
            "x-24-hour-requests-left": "49999",
        }
        gate.release(acquire(gate, provider="apollo"), CallOutcome(200, headers=headers))
        acquire(gate, provider="apollo")
        acquire(gate, provider="apollo")
        # 360 per hour (10 s apart) binds over 60 per minute (1 s apart).
        assert sleep.waits == pytest.approx([0.1, 10.1], abs=TOLERANCE_S)
