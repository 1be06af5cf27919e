"""Configured limits, and building the gate and its Redis client from settings."""

from __future__ import annotations

import fakeredis
import pytest
import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from shared.errors import TransientError
from shared.ratelimit import (
    CallOutcome,
    Limit,
    RedisCallGate,
    build_call_gate,
    limits_from_settings,
    redis_client_from_settings,
)
from shared.ratelimit.metered import MeteredGate
from shared.settings import Settings
from tests.support.servers import free_port

pytestmark = pytest.mark.unit

SETTINGS = Settings(encryption_key="unit-test-encryption-key-0123456789abcdef")


def test_llm_providers_limit_requests_and_tokens_per_minute() -> None:
    assert limits_from_settings(SETTINGS, "openai") == [
        Limit("requests", 500, 60.0),
        Limit("tokens", 200_000, 60.0),
    ]
    assert [limit.capacity for limit in limits_from_settings(SETTINGS, "anthropic")] == [
        50,
        40_000,
    ]
    assert limits_from_settings(SETTINGS, "gemini")[1].counts_tokens


def test_apollo_limits_three_windows_of_requests() -> None:
    limits = limits_from_settings(SETTINGS, "apollo")
    assert [(limit.capacity, limit.window_s) for limit in limits] == [
        (200, 60.0),
        (6_000, 3_600.0),
        (50_000, 86_400.0),
    ]
    assert not any(limit.counts_tokens for limit in limits)


def test_unknown_provider_is_an_error() -> None:
    with pytest.raises(ValueError, match="no rate limits"):
        limits_from_settings(SETTINGS, "mistral")


def test_a_call_costs_one_request_and_its_tokens() -> None:
    assert Limit("requests", 10, 1.0).cost(800) == 1
    assert Limit("input_tokens", 10, 1.0).cost(800) == 800
    with pytest.raises(ValueError, match="capacity"):
        Limit("requests", 0, 1.0)


def test_the_redis_client_queues_for_connections_and_connects_lazily() -> None:
    client = redis_client_from_settings(
        SETTINGS.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/3"})
    )
    pool = client.connection_pool
    assert isinstance(pool, redis.BlockingConnectionPool)
    assert pool.max_connections == 64
    assert pool.connection_kwargs["db"] == 3
    client.close()


def test_the_gate_is_built_from_settings() -> None:
    settings = SETTINGS.model_copy(
        update={"tenant_max_concurrent_calls": 2, "redis_key_prefix": "unit-build"}
    )
    client = fakeredis.FakeRedis()
    gate = build_call_gate(settings, client)
    assert isinstance(gate, MeteredGate)
    permit = gate.acquire(
        provider="apollo", credential_key="platform", tenant_id="t1", estimated_tokens=0
    )
    assert permit.lease_id
    assert client.exists("unit-build:rate:{apollo:platform}:limit:requests_day")
    assert client.zcard("unit-build:leases:{t1}") == 1
    gate.release(permit, CallOutcome(status=200, model="people/match"))
    assert client.zcard("unit-build:leases:{t1}") == 0


def test_an_unreachable_redis_is_a_transient_error() -> None:
    client = redis.Redis(port=free_port(), socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))
    gate = RedisCallGate(
        client,
        key_prefix="unit-down",
        limits_for=lambda _p, _c: [Limit("requests", 1, 1.0)],
        max_inline_wait_s=1.0,
    )
    with pytest.raises(TransientError, match="rate governor unavailable"):
        gate.acquire(provider="openai", credential_key="k", tenant_id=None, estimated_tokens=0)
