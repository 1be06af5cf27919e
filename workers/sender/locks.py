"""The delivery lock: a Postgres session advisory lock held for a whole delivery of one send.

It tells a live sender from a dead one. A sender holds it on a connection of its own from
before the claim until the outcome is committed; if the process dies, Postgres drops the
connection and the lock with it. So a later delivery that finds a send ``sending`` and takes
the lock knows nobody is still talking to the SMTP server about it. Short TCP keepalives on
that connection (they stay on it in the pool, harmlessly) let Postgres notice a vanished host
in seconds rather than hours.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
import structlog

from shared.db.locks import session_lock

__all__ = ["delivery_lock", "delivery_lock_key"]

log = structlog.get_logger(__name__)

# Seconds: idle before the first probe, between probes, and probes lost before giving up.
_KEEPALIVES = {"tcp_keepalives_idle": 10, "tcp_keepalives_interval": 5, "tcp_keepalives_count": 3}


def delivery_lock_key(send_id: uuid.UUID) -> int:
    """The advisory lock key (a signed 64-bit integer) of a send."""
    digest = hashlib.blake2b(f"agentfleet.send:{send_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@contextmanager
def delivery_lock(engine: sa.Engine, send_id: uuid.UUID) -> Iterator[bool]:
    """Try the send's lock without waiting; yields whether this delivery holds it."""
    key = delivery_lock_key(send_id)
    with engine.connect() as connection:
        connection.execution_options(isolation_level="AUTOCOMMIT")
        if connection.dialect.name == "postgresql":
            for name, seconds in _KEEPALIVES.items():
                connection.execute(sa.select(sa.func.set_config(name, str(seconds), False)))
        try:
            with session_lock(connection, key) as held:
                yield held
        except sa.exc.DBAPIError as exc:
            # Unlocking failed: closing the connection is what releases the lock now.
            log.warning("send.unlock_failed", send_id=str(send_id), error=str(exc))
            connection.invalidate()
