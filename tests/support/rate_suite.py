"""The rate governor's behaviour, written once and run against fakeredis and the real Redis.

Test modules subclass :class:`RateGovernorSuite` and provide a ``redis_client`` fixture (as
Dramatiq runs one suite against each rate-limiter backend). Every test works under its own
key prefix and removes its keys. Waits are recorded by an injected ``sleep`` where real time
need not pass; Redis server time still moves on between calls, hence the tolerances.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence

import pytest
import redis

from shared.errors import RateLimited
from shared.ratelimit import CallOutcome, CallPermit, Limit, RedisCallGate

TOLERANCE_S = 0.05


class RecordedSleep:
    """A ``sleep`` that records what it was asked to wait and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


class GateFixtures:
    """A key prefix of the test's own, and a factory of gates that share it."""

    @pytest.fixture
    def prefix(self, redis_client: redis.Redis) -> Iterator[str]:
        prefix = f"test-rate-{uuid.uuid4().hex}"
        yield prefix
        keys = list(redis_client.scan_iter(match=f"{prefix}:*"))
        if keys:
            redis_client.delete(*keys)

    @pytest.fixture
    def make_gate(self, redis_client: redis.Redis, prefix: str) -> Callable[..., Gate]:
        def make(limits: Sequence[Limit], *, real_sleep: bool = False, **options: object) -> Gate:
            recorded = RecordedSleep()
            settings: dict[str, object] = {"max_inline_wait_s": 30.0, "jitter_allowance_s": 0.0}
            settings.update(options)
            gate = RedisCallGate(
                redis_client,
                key_prefix=prefix,
                limits_for=lambda _provider, _credential: limits,
                sleep=time.sleep if real_sleep else recorded,
                **settings,  # type: ignore[arg-type]
            )
            return gate, recorded

        return make


class RateGovernorSuite(GateFixtures):
    """Slots, windows, tokens, 429s and tenant leases."""

    # Slots -----------------------------------------------------------------------------

    def test_slots_are_evenly_spaced_at_the_limit(self, make_gate: Callable[..., Gate]) -> None:
        gate, sleep = make_gate([Limit("requests", 10, 1.0)])
        permits = [acquire(gate) for _ in range(5)]
        assert permits[0].waited_s == 0
        assert sleep.waits == pytest.approx([0.1, 0.2, 0.3, 0.4], abs=TOLERANCE_S)

    def test_the_jitter_allowance_pads_each_window(self, make_gate: Callable[..., Gate]) -> None:
        gate, sleep = make_gate([Limit("requests", 10, 1.0)], jitter_allowance_s=0.5)
        for _ in range(3):
            acquire(gate)
        assert sleep.waits == pytest.approx([0.15, 0.30], abs=TOLERANCE_S)

    def test_every_window_must_have_room_and_reserves_all_or_nothing(
        self, make_gate: Callable[..., Gate]
    ) -> None:
        minute, hour = Limit("requests_minute", 10, 60.0), Limit("requests_hour", 2, 3600.0)
        both, _ = make_gate([minute, hour], max_inline_wait_s=10.0)
        acquire(both, provider="apollo")
        with pytest.raises(RateLimited) as refused:
            acquire(both, provider="apollo")
        assert refused.value.delay_s == pytest.approx(1800, abs=1)

        # The refused call took nothing from the minute window: its next slot is one
        # interval (6 s) after the first call, not two.
        minute_only, sleep = make_gate([minute])
        acquire(minute_only, provider="apollo")
        assert sleep.waits == pytest.approx([6.0], abs=TOLERANCE_S)

    def test_a_long_wait_defers_without_reserving(self, make_gate: Callable[..., Gate]) -> None:
        gate, _ = make_gate([Limit("requests", 1, 10.0)], max_inline_wait_s=1.0)
        acquire(gate)
        delays = []
        for _ in range(3):
            with pytest.raises(RateLimited, match=r"^openai rate limit: next slot in") as exc:
                acquire(gate)
            delays.append(exc.value.delay_s)
        assert delays == pytest.approx([10.0, 10.0, 10.0], abs=TOLERANCE_S)

    def test_credentials_do_not_share_slots(self, make_gate: Callable[..., Gate]) -> None:
        gate, sleep = make_gate([Limit("requests", 1, 10.0)])
        acquire(gate, credential_key="tenant-a")
        acquire(gate, credential_key="tenant-b")
        assert sleep.waits == []

    def test_state_expires_when_a_credential_is_idle(
        self, make_gate: Callable[..., Gate], redis_client: redis.Redis, prefix: str
    ) -> None:
        gate, _ = make_gate([Limit("requests", 10, 1.0), Limit("tokens", 1000, 1.0)])
        acquire(gate, tokens=100)
        keys = list(redis_client.scan_iter(match=f"{prefix}:*"))
        assert len(keys) == 2
        assert all(0 < int(redis_client.pttl(key)) <= 3_700_000 for key in keys)

    # Tokens ----------------------------------------------------------------------------

    def test_tokens_are_trued_up_after_the_call(self, make_gate: Callable[..., Gate]) -> None:
        gate, sleep = make_gate([Limit("tokens", 1000, 1.0)])  # 1 ms per token
        first = acquire(gate, tokens=500)
        gate.release(first, CallOutcome(status=200, tokens_used=100))  # gives back 400
        second = acquire(gate, tokens=100)
        gate.release(second, CallOutcome(status=200, tokens_used=600))  # charges 500 more
        acquire(gate, tokens=0)
        assert sleep.waits == pytest.approx([0.1, 0.7], abs=TOLERANCE_S)

    def test_extra_tokens_of_a_slow_call_are_paid_back_by_the_next_calls(
        self, make_gate: Callable[..., Gate]
    ) -> None:
        gate, sleep = make_gate([Limit("tokens", 1000, 1.0)])
        permit = acquire(gate, tokens=100)
        time.sleep(0.3)  # the call takes longer than its reservation lasted
        gate.release(permit, CallOutcome(status=200, tokens_used=600))
        acquire(gate, tokens=0)
        assert sleep.waits == pytest.approx([0.5], abs=TOLERANCE_S)

    def test_the_estimate_stands_when_no_response_came(
        self, make_gate: Callable[..., Gate]
    ) -> None:
        gate, sleep = make_gate([Limit("tokens", 1000, 1.0)])
        gate.release(acquire(gate, tokens=500), CallOutcome(status=None))
        acquire(gate, tokens=0)
        assert sleep.waits == pytest.approx([0.5], abs=TOLERANCE_S)

    # 429s ------------------------------------------------------------------------------

    def test_a_429_holds_slots_past_retry_after_then_halves_the_rate(
        self, make_gate: Callable[..., Gate]
    ) -> None:
        gate, sleep = make_gate([Limit("requests", 10, 1.0)])
        gate.release(acquire(gate), CallOutcome(status=429, retry_after_s=2.0))
        acquire(gate)
        acquire(gate)
        assert sleep.waits == pytest.approx([2.0, 2.2], abs=TOLERANCE_S)

    def test_429s_of_calls_already_in_flight_cut_the_rate_once(
        self, make_gate: Callable[..., Gate]
    ) -> None:
        gate, sleep = make_gate([Limit("requests", 10, 1.0)], max_inline_wait_s=60.0)
        in_flight = [acquire(gate) for _ in range(3)]
        for permit in in_flight:
            gate.release(permit, CallOutcome(status=429, retry_after_s=1.0))
        sleep.waits.clear()
        acquire(gate)
        acquire(gate)
        assert sleep.waits[1] - sleep.waits[0] == pytest.approx(0.2, abs=TOLERANCE_S)

    def test_the_rate_recovers_with_successful_calls(self, make_gate: Callable[..., Gate]) -> None:
        gate, sleep = make_gate([Limit("requests", 10, 1.0)], max_inline_wait_s=60.0)
        gate.release(acquire(gate), CallOutcome(status=429, retry_after_s=0.0))
        for _ in range(10):  # 0.5 + 10 x 0.05 = back to the full rate
            gate.release(acquire(gate), CallOutcome(status=200))
        sleep.waits.clear()
        acquire(gate)
        acquire(gate)
        assert sleep.waits[1] - sleep.waits[0] == pytest.approx(0.1, abs=TOLERANCE_S)

    def test_no_request_goes_before_the_providers_retry_time(
        self, make_gate: Callable[..., Gate]
    ) -> None:
        """A caller already asleep until its slot queues again when a 429 lands meanwhile."""
        gate, _ = make_gate([Limit("requests", 2, 1.0)], real_sleep=True)
        first = acquire(gate)
        returned_at: list[float] = []
        waiting = threading.Thread(target=lambda: returned_at.append(_timed_acquire(gate)))
        waiting.start()  # its slot comes 0.5 s after the first call
        time.sleep(0.1)
        throttled_at = time.monotonic()
        gate.release(first, CallOutcome(status=429, retry_after_s=1.0))
        waiting.join(10)
        assert returned_at
        assert returned_at[0] - throttled_at >= 1.0 - 0.002  # clocks agree to the microsecond

    # Tenant concurrency ----------------------------------------------------------------

    def test_a_tenant_cannot_exceed_its_calls_in_flight(
        self, make_gate: Callable[..., Gate], redis_client: redis.Redis, prefix: str
    ) -> None:
        gate, _ = make_gate(
            [Limit("requests", 1000, 1.0)], tenant_max_concurrent=2, max_inline_wait_s=0.2
        )
        held = [acquire(gate, tenant_id="t1") for _ in range(2)]
        assert all(permit.lease_id for permit in held)
        with pytest.raises(RateLimited, match="concurrency"):
            acquire(gate, tenant_id="t1")
        other = acquire(gate, tenant_id="t2")
        gate.release(held[0], CallOutcome(status=200))
        third = acquire(gate, tenant_id="t1")
        for permit in (held[1], other, third):
            gate.release(permit, CallOutcome(status=200))
        assert list(redis_client.scan_iter(match=f"{prefix}:leases:*")) == []

    def test_a_dead_workers_lease_expires(self, make_gate: Callable[..., Gate]) -> None:
        gate, _ = make_gate(
            [Limit("requests", 1000, 1.0)],
            tenant_max_concurrent=1,
            lease_s=0.3,
            max_inline_wait_s=2.0,
            real_sleep=True,
        )
        acquire(gate, tenant_id="t1")  # never released: its worker died
        started = time.monotonic()
        permit = acquire(gate, tenant_id="t1")
        assert permit.lease_id
        assert 0.2 <= time.monotonic() - started < 1.0

    def test_a_deferred_call_gives_its_lease_back(
        self, make_gate: Callable[..., Gate], redis_client: redis.Redis, prefix: str
    ) -> None:
        gate, _ = make_gate(
            [Limit("requests", 1, 10.0)], tenant_max_concurrent=1, max_inline_wait_s=1.0
        )
        gate.release(acquire(gate, tenant_id="t1"), CallOutcome(status=200))
        with pytest.raises(RateLimited, match="rate limit: next slot"):
            acquire(gate, tenant_id="t1")
        assert list(redis_client.scan_iter(match=f"{prefix}:leases:*")) == []


Gate = tuple[RedisCallGate, RecordedSleep]


def acquire(
    gate: RedisCallGate,
    *,
    provider: str = "openai",
    credential_key: str = "platform",
    tenant_id: str | None = None,
    tokens: int = 0,
) -> CallPermit:
    return gate.acquire(
        provider=provider,
        credential_key=credential_key,
        tenant_id=tenant_id,
        estimated_tokens=tokens,
    )


def _timed_acquire(gate: RedisCallGate) -> float:
    acquire(gate)
    return time.monotonic()
