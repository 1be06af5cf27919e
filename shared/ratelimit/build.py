"""Composition helpers: the Redis client and the call gate a process builds from its settings."""

from __future__ import annotations

import redis

from shared.ratelimit.gate import CallGate
from shared.ratelimit.limits import LimitBook
from shared.ratelimit.metered import MeteredGate
from shared.ratelimit.redis_gate import RedisCallGate
from shared.settings import Settings

__all__ = ["build_call_gate", "redis_client_from_settings"]

# A gate holds a connection only for one script call, never while it sleeps, so a pool much
# smaller than the worker threads serves them all.
_MAX_CONNECTIONS = 64
_POOL_WAIT_S = 10.0
_SOCKET_TIMEOUT_S = 5.0


def redis_client_from_settings(
    settings: Settings, *, max_connections: int = _MAX_CONNECTIONS
) -> redis.Redis:
    """A Redis client whose pool makes callers wait for a free connection.

    redis-py 8's default pool raises ``ConnectionError`` ("Too many connections") once it
    holds ``max_connections`` (100 by default): a burst of worker threads would fail calls
    that only needed to queue for a moment. A ``BlockingConnectionPool`` queues them instead,
    failing only after ``_POOL_WAIT_S``.
    """
    pool = redis.BlockingConnectionPool.from_url(
        settings.redis_url,
        max_connections=max_connections,
        timeout=_POOL_WAIT_S,
        socket_connect_timeout=_SOCKET_TIMEOUT_S,
        socket_timeout=_SOCKET_TIMEOUT_S,
    )
    return redis.Redis(connection_pool=pool)


def build_call_gate(
    settings: Settings, redis: redis.Redis, book: LimitBook | None = None
) -> CallGate:
    """The process's :class:`RedisCallGate` (measured), with the configured limits and tenant cap.

    ``book`` supplies per-credential limits (a tenant's own key may carry its own).
    """
    limit_book = book or LimitBook(settings)
    gate = RedisCallGate(
        redis,
        key_prefix=settings.redis_key_prefix,
        limits_for=limit_book.limits,
        max_inline_wait_s=settings.llm_max_inline_wait_s,
        tenant_max_concurrent=settings.tenant_max_concurrent_calls,
        lease_s=settings.tenant_concurrency_lease_s,
    )
    return MeteredGate(gate, limit_book.limits)
