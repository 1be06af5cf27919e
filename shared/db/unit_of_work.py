"""The unit of work: owns one transaction and writes recorded events and dispatches with it."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from types import TracebackType

import sqlalchemy as sa
from sqlalchemy.orm import Session, sessionmaker

from shared.db.isolation import TenantIsolation
from shared.db.models import OutboxMessage
from shared.envelope import TaskEnvelope
from shared.events import Event
from shared.metrics.committed import count_committed_events
from shared.outbox import event_outbox_values, task_outbox_values

__all__ = ["UnitOfWork"]


class UnitOfWork:
    """``with db.unit_of_work(tenant_id) as uow: ...; uow.commit()``.

    Rolls back unless committed; it is the only place that commits. Events recorded with
    :meth:`record` and task messages with :meth:`dispatch` become outbox rows in the same
    transaction as the state change that caused them.
    """

    def __init__(
        self,
        sessions: sessionmaker[Session],
        isolation: TenantIsolation,
        tenant_id: uuid.UUID | None,
    ) -> None:
        self._sessions = sessions
        self._isolation = isolation
        self.tenant_id = tenant_id
        self._events: list[Event] = []
        self._dispatches: list[tuple[TaskEnvelope, str | None, datetime | None]] = []
        self._after_commit: list[Callable[[], None]] = []
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("unit of work used outside its 'with' block")
        return self._session

    def __enter__(self) -> UnitOfWork:
        self._session = self._sessions()
        if self.tenant_id is not None:
            self._isolation.bind(self._session, self.tenant_id)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # close() rolls back whatever was not committed; unlike rollback() it leaves loaded
        # objects readable (detached, not expired) for the caller.
        self.session.close()
        self._session = None

    def record(self, event: Event) -> None:
        self._events.append(event)

    def after_commit(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` once this transaction has committed (metrics of what it did)."""
        self._after_commit.append(callback)

    def dispatch(
        self,
        envelope: TaskEnvelope,
        *,
        dedup_key: str | None = None,
        available_at: datetime | None = None,
    ) -> None:
        """Queue ``envelope`` for its agent, now or (deferred work) not before ``available_at``."""
        self._dispatches.append((envelope, dedup_key, available_at))

    def commit(self) -> None:
        session = self.session
        rows = [event_outbox_values(event) for event in self._events]
        rows += [
            task_outbox_values(env, dedup_key=key, available_at=at)
            for env, key, at in self._dispatches
        ]
        if rows:
            # One multi-row INSERT; the ORM's per-object bookkeeping buys nothing here.
            session.execute(sa.insert(OutboxMessage), rows)
        session.commit()
        count_committed_events(self._events)
        callbacks, self._after_commit = self._after_commit, []
        self._events.clear()
        self._dispatches.clear()
        for callback in callbacks:
            callback()

    def rollback(self) -> None:
        self.session.rollback()
        self._events.clear()
        self._dispatches.clear()
        self._after_commit.clear()
