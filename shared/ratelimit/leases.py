"""Per-tenant caps on provider calls in flight, as expiring leases in Redis.

A tenant's leases live in one sorted set scored by expiry (Redis server time). Taking a
lease purges expired ones in the same script, so a worker that died mid-call holds its
lease only until it expires.
"""

from __future__ import annotations

import redis

from shared.ratelimit.scripts import TAKE_LEASE

__all__ = ["TenantLeases"]

_US = 1_000_000


class TenantLeases:
    """Take and give back a tenant's concurrency leases."""

    def __init__(self, client: redis.Redis, *, key_prefix: str) -> None:
        self._client = client
        self._prefix = key_prefix
        self._take = client.register_script(TAKE_LEASE)

    def key(self, tenant_id: str) -> str:
        """The tenant's lease set."""
        return f"{self._prefix}:leases:{{{tenant_id}}}"

    def try_take(
        self, tenant_id: str, lease_id: str, *, max_live: int, lease_s: float
    ) -> float | None:
        """Take a lease if fewer than ``max_live`` are live: None if taken, else the seconds
        until the first live lease expires (the longest the caller could have to wait)."""
        taken, until_us = self._take(
            keys=[self.key(tenant_id)], args=[lease_id, max_live, round(lease_s * _US)]
        )
        return None if int(taken) else max(int(until_us), 0) / _US

    def give_back(self, tenant_id: str, lease_id: str) -> None:
        """Drop a lease (a lease already expired and purged is no error)."""
        self._client.zrem(self.key(tenant_id), lease_id)

    def live(self, tenant_id: str) -> int:
        """How many leases the tenant holds, expired ones not yet purged included."""
        return int(self._client.zcard(self.key(tenant_id)))
