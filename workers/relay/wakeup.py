"""Wake-ups for the relay: Postgres LISTEN/NOTIFY, or engine commits in the embedded mode.

A wake-up only shortens the wait: the relay still polls every ``poll_interval_s``, so a lost
notification delays a message, never loses it.
"""

from __future__ import annotations

import re
import threading
import time
from typing import Any, Protocol

import psycopg
import sqlalchemy as sa
import structlog
from psycopg.conninfo import make_conninfo
from sqlalchemy import event
from sqlalchemy.engine import make_url

__all__ = [
    "OUTBOX_CHANNEL",
    "EngineCommitWakeup",
    "PostgresNotifyWakeup",
    "Wakeup",
    "libpq_conninfo",
]

logger = structlog.get_logger(__name__)

# The channel the migration's outbox trigger notifies on every insert.
OUTBOX_CHANNEL = "agentfleet_outbox"


class Wakeup(Protocol):
    def wait(self, timeout_s: float) -> bool:
        """Block up to ``timeout_s``; True if new outbox rows may be waiting."""

    def close(self) -> None:
        """Release whatever the wake-up listens on."""


def libpq_conninfo(url: str) -> str:
    """A libpq connection string for psycopg from a SQLAlchemy URL (``postgresql+psycopg://``)."""
    parsed = make_url(url)
    params: dict[str, Any] = {
        "host": parsed.host,
        "port": parsed.port,
        "user": parsed.username,
        "password": parsed.password,
        "dbname": parsed.database,
    }
    for key, value in parsed.query.items():
        params[key] = ",".join(value) if isinstance(value, tuple) else value
    params.setdefault("connect_timeout", 10)
    return make_conninfo("", **{k: v for k, v in params.items() if v is not None})


class PostgresNotifyWakeup:
    """``LISTEN agentfleet_outbox`` on a dedicated autocommit connection.

    The connection is opened on the first :meth:`wait`, which then returns True, as does any
    wait that had to reconnect: notifications sent while nobody listened are lost, so the
    relay must poll once.
    """

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._conn: psycopg.Connection[Any] | None = None

    def wait(self, timeout_s: float) -> bool:
        """Wait for a notification, draining any others that arrived meanwhile."""
        if self._conn is None or self._conn.closed:
            return self._reconnect(timeout_s)
        try:
            woken = False
            for _ in self._conn.notifies(timeout=timeout_s, stop_after=1):
                woken = True
            if woken:
                for _ in self._conn.notifies(timeout=0):
                    pass
            return woken
        except psycopg.Error as exc:
            logger.warning("relay.wakeup_lost", error=str(exc))
            self.close()
            return True

    def close(self) -> None:
        """Close the listening connection (idempotent)."""
        conn, self._conn = self._conn, None
        if conn is not None and not conn.closed:
            conn.close()

    def _reconnect(self, timeout_s: float) -> bool:
        self.close()
        try:
            conn = psycopg.connect(self._conninfo, autocommit=True)
        except psycopg.Error as exc:
            logger.warning("relay.wakeup_unavailable", error=str(exc))
            # Behave like a plain poll until Postgres is back.
            time.sleep(timeout_s)
            return True
        try:
            conn.execute(f"LISTEN {OUTBOX_CHANNEL}")
        except psycopg.Error as exc:
            conn.close()
            logger.warning("relay.wakeup_unavailable", error=str(exc))
            time.sleep(timeout_s)
            return True
        self._conn = conn
        return True


_OUTBOX_INSERT = re.compile(r'^\s*INSERT\s+INTO\s+"?outbox"?[\s(]', re.IGNORECASE)
_DIRTY = "agentfleet_outbox_written"


class EngineCommitWakeup:
    """Embedded mode: set when a transaction that inserted outbox rows commits on ``engine``.

    Like the Postgres trigger it fires only for outbox inserts, so the relay's own commits
    (claims, marks) do not wake it again.
    """

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self._event = threading.Event()
        event.listen(engine, "after_cursor_execute", self._after_execute)
        event.listen(engine, "commit", self._on_commit)
        event.listen(engine, "rollback", self._on_rollback)

    def wait(self, timeout_s: float) -> bool:
        """Wait for a commit that wrote outbox rows."""
        if not self._event.wait(timeout_s):
            return False
        # Cleared only after a wake-up: the poll that follows sees every commit before this.
        self._event.clear()
        return True

    def close(self) -> None:
        """Stop listening to the engine (idempotent)."""
        for name, handler in (
            ("after_cursor_execute", self._after_execute),
            ("commit", self._on_commit),
            ("rollback", self._on_rollback),
        ):
            if event.contains(self._engine, name, handler):
                event.remove(self._engine, name, handler)

    def _after_execute(
        self,
        conn: sa.Connection,
        _cursor: Any,
        statement: str,
        _parameters: Any,
        _context: Any,
        _executemany: bool,
    ) -> None:
        if _OUTBOX_INSERT.match(statement):
            conn.info[_DIRTY] = True

    def _on_commit(self, conn: sa.Connection) -> None:
        if conn.info.pop(_DIRTY, False):
            self._event.set()

    def _on_rollback(self, conn: sa.Connection) -> None:
        conn.info.pop(_DIRTY, None)
