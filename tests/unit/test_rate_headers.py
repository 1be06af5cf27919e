"""Reading providers' rate-limit headers into observations per limit."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.ratelimit.headers import Observation, observe_headers, parse_duration_s

pytestmark = pytest.mark.unit

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("12ms", 0.012), ("1.5s", 1.5), ("6m0s", 360.0), ("1h2m3s", 3723.0), ("20", 20.0)],
)
def test_go_durations_are_read_as_seconds(text: str, seconds: float) -> None:
    assert parse_duration_s(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "soon", "5 s", "1x"])
def test_malformed_durations_are_none(text: str) -> None:
    assert parse_duration_s(text) is None


def test_openai_headers() -> None:
    observed = observe_headers(
        {
            "X-RateLimit-Limit-Requests": "500",
            "x-ratelimit-remaining-requests": "499",
            "x-ratelimit-reset-requests": "120ms",
            "x-ratelimit-limit-tokens": "200000",
            "x-ratelimit-remaining-tokens": "150000",
            "x-ratelimit-reset-tokens": "15s",
            "x-request-id": "req_1",
        }
    )
    assert observed == {
        "requests": Observation(limit=500, remaining=499, reset_s=0.12),
        "tokens": Observation(limit=200_000, remaining=150_000, reset_s=15.0),
    }


def test_anthropic_headers() -> None:
    observed = observe_headers(
        {
            "anthropic-ratelimit-requests-limit": "50",
            "anthropic-ratelimit-requests-remaining": "0",
            "anthropic-ratelimit-requests-reset": "2026-03-01T12:00:30Z",
            "anthropic-ratelimit-input-tokens-limit": "30000",
            "anthropic-ratelimit-input-tokens-remaining": "29000",
            "anthropic-ratelimit-output-tokens-limit": "8000",
        },
        now=NOW,
    )
    assert observed == {
        "requests": Observation(limit=50, remaining=0, reset_s=30.0),
        "input_tokens": Observation(limit=30_000, remaining=29_000, reset_s=None),
        "output_tokens": Observation(limit=8_000, remaining=None, reset_s=None),
    }


def test_apollo_headers_with_requests_left_or_usage() -> None:
    observed = observe_headers(
        {
            "x-rate-limit-minute": "200",
            "x-minute-requests-left": "150",
            "x-rate-limit-hourly": "6000",
            "x-hourly-usage": "60",
            "x-rate-limit-24-hour": "50000",
        }
    )
    assert observed == {
        "requests_minute": Observation(limit=200, remaining=150),
        "requests_hour": Observation(limit=6000, remaining=5940),
        "requests_day": Observation(limit=50_000),
    }


def test_no_rate_headers_no_observations() -> None:
    assert observe_headers({"content-type": "application/json"}) == {}


def test_an_exhausted_bucket_says_when_the_next_call_fits() -> None:
    bucket = Observation(limit=1000, remaining=100, reset_s=9.0)  # 900 refill in 9 s
    assert bucket.wait_for_s(100) is None
    assert bucket.wait_for_s(300) == pytest.approx(2.0)
    assert Observation(limit=10, remaining=0, reset_s=1.0).wait_for_s(50) == pytest.approx(1.0)
    assert Observation(limit=200, remaining=0).wait_for_s(1) is None  # fixed window: unknown
