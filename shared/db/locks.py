"""Named locks for work that has no row to lock, on either database.

Postgres takes an advisory lock; SQLite (embedded mode) needs none inside a transaction,
because every transaction starts with ``BEGIN IMMEDIATE`` and so holds the database's write
lock already, and it stands a process-local lock in for a session lock (one process uses it).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from sqlalchemy.orm import Session

__all__ = ["session_lock", "transaction_lock"]

_local_guard = threading.Lock()
_local_held: set[int] = set()


def transaction_lock(session: Session, key: int) -> None:
    """Hold lock ``key`` until the session's transaction ends."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))


@contextmanager
def session_lock(connection: sa.Connection, key: int) -> Iterator[bool]:
    """Try lock ``key`` without waiting, held on ``connection`` across its transactions (on
    Postgres it dies with the connection); yields whether it was taken."""
    if connection.dialect.name != "postgresql":
        with _local_lock(key) as held:
            yield held
        return
    held = bool(connection.scalar(sa.select(sa.func.pg_try_advisory_lock(key))))
    try:
        yield held
    finally:
        if held:
            connection.scalar(sa.select(sa.func.pg_advisory_unlock(key)))


@contextmanager
def _local_lock(key: int) -> Iterator[bool]:
    with _local_guard:
        held = key not in _local_held
        _local_held.add(key)
    try:
        yield held
    finally:
        if held:
            with _local_guard:
                _local_held.discard(key)
