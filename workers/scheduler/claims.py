"""The scheduler's statements: which tenants have due work, and one-statement claims.

Claims are one ``UPDATE ... WHERE id IN (SELECT ... FOR UPDATE SKIP LOCKED) RETURNING``: two
replicas never take the same row, and a row one of them already moved no longer matches.
Timestamps are passed in (UTC), so a test can run the scheduler at a chosen moment.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shared.db.base import JSONType, UtcDateTime
from shared.db.models import Agent, ApprovalItem, Mailbox, MessageSend, Task, Tenant, TenantStatus
from shared.inbox.state import polled_at_text
from shared.lifecycles import AgentStatus, ApprovalStatus, SendStatus, TaskStatus, check_transition

__all__ = [
    "SCHEDULABLE_STATUSES",
    "claim_due_mailboxes",
    "claim_due_sends",
    "claim_due_tasks",
    "claim_expired_approvals",
    "due_tenants",
]

# The agent states that take work (as for a task assigned by hand); paused agents never fire.
SCHEDULABLE_STATUSES = (AgentStatus.IDLE.value, AgentStatus.ACTIVE.value)


def due_tenants(
    session: Session, now: datetime, *, mailbox_poll_interval: timedelta | None = None
) -> list[uuid.UUID]:
    """Active tenants with scheduled agents, due held tasks, expired pending approvals,
    deferred sends that are due, or (given the interval) mailbox inboxes due for a poll.

    On Postgres a SECURITY DEFINER function answers, since row-level security hides other
    tenants from the scheduler's role; SQLite (embedded mode) has no such wall.
    """
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        rows = session.execute(
            sa.text("SELECT agentfleet_scheduler_tenants(:now, :interval)"),
            {"now": now, "interval": mailbox_poll_interval},
        ).scalars()
        return list(rows)
    scheduled = sa.exists().where(
        Agent.tenant_id == Tenant.id,
        Agent.enabled.is_(True),
        Agent.schedule.is_not(None),
        Agent.status.in_(SCHEDULABLE_STATUSES),
    )
    held = sa.exists().where(Task.tenant_id == Tenant.id, *_due_task_filter(now))
    expired = sa.exists().where(ApprovalItem.tenant_id == Tenant.id, *_expired_filter(now))
    sends = sa.exists().where(MessageSend.tenant_id == Tenant.id, *_due_send_filter(now))
    due = [scheduled, held, expired, sends]
    if mailbox_poll_interval is not None:
        due.append(
            sa.exists().where(
                Mailbox.tenant_id == Tenant.id,
                *_due_mailbox_filter(dialect, now, mailbox_poll_interval),
            )
        )
    query = (
        sa.select(Tenant.id)
        .where(Tenant.status == TenantStatus.ACTIVE.value, sa.or_(*due))
        .order_by(Tenant.id)
    )
    return list(session.scalars(query))


def _due_task_filter(now: datetime) -> tuple[sa.ColumnElement[bool], ...]:
    return (
        Task.status == TaskStatus.PENDING.value,
        Task.dispatched_at.is_(None),
        Task.scheduled_at <= now,
    )


def _expired_filter(now: datetime) -> tuple[sa.ColumnElement[bool], ...]:
    return (
        ApprovalItem.status == ApprovalStatus.PENDING.value,
        ApprovalItem.expires_at <= now,
    )


def _due_send_filter(now: datetime) -> tuple[sa.ColumnElement[bool], ...]:
    return (MessageSend.status == SendStatus.DEFERRED.value, MessageSend.not_before <= now)


def _polled_at(dialect: str) -> sa.ColumnElement[Any]:
    text: sa.ColumnElement[str] = Mailbox.poll_state["polled_at"].as_string()
    if dialect == "postgresql":
        return sa.cast(text, UtcDateTime())
    # SQLite has no timestamp type; the stored fixed-width UTC text sorts like the moment.
    return text


def _due_mailbox_filter(
    dialect: str, now: datetime, interval: timedelta
) -> tuple[sa.ColumnElement[bool], ...]:
    """Active mailboxes with an inbox, never polled or last polled ``interval`` ago (a mailbox
    created after ``now`` is not due at ``now``)."""
    polled_at = _polled_at(dialect)
    before = now - interval
    return (
        Mailbox.is_active.is_(True),
        Mailbox.imap_host.is_not(None),
        Mailbox.created_at <= now,
        sa.or_(
            polled_at.is_(None),
            polled_at <= (before if dialect == "postgresql" else polled_at_text(before)),
        ),
    )


M = TypeVar("M", Task, ApprovalItem, MessageSend, Mailbox)


def _claim(
    session: Session,
    model: type[M],
    *,
    where: Sequence[sa.ColumnElement[bool]],
    order_by: Sequence[sa.ColumnExpressionArgument[Any]],
    limit: int,
    values: Mapping[str, Any],
) -> list[M]:
    """Set ``values`` on up to ``limit`` rows matching ``where`` (in ``order_by`` order) that no
    other transaction holds, in one statement; the rows as updated."""
    claimed = (
        sa.select(model.id)
        .where(*where)
        .order_by(*order_by)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    statement = (
        sa.update(model)
        .where(model.id.in_(claimed))
        .values(**values)
        .returning(model)
        .execution_options(synchronize_session=False)
    )
    return list(session.scalars(statement))


def claim_due_tasks(
    session: Session, tenant_id: uuid.UUID, now: datetime, *, limit: int
) -> list[Task]:
    """Mark up to ``limit`` due held tasks of the tenant dispatched, oldest due first.

    The caller dispatches the returned tasks in the same transaction, so the mark and the
    outbox row commit together.
    """
    tasks = _claim(
        session,
        Task,
        where=(Task.tenant_id == tenant_id, *_due_task_filter(now)),
        order_by=(Task.scheduled_at, Task.id),
        limit=limit,
        values={"dispatched_at": now},
    )
    tasks.sort(key=lambda task: (task.scheduled_at or now, task.id))
    return tasks


def claim_expired_approvals(
    session: Session, tenant_id: uuid.UUID, now: datetime, *, limit: int
) -> list[ApprovalItem]:
    """Move up to ``limit`` pending approval items past ``expires_at`` to expired."""
    return _claim(
        session,
        ApprovalItem,
        where=(ApprovalItem.tenant_id == tenant_id, *_expired_filter(now)),
        order_by=(ApprovalItem.expires_at, ApprovalItem.id),
        limit=limit,
        values={
            "status": check_transition(ApprovalStatus.PENDING, ApprovalStatus.EXPIRED).value,
            "version": ApprovalItem.version + 1,
        },
    )


def claim_due_sends(
    session: Session, tenant_id: uuid.UUID, now: datetime, *, limit: int
) -> list[MessageSend]:
    """Move up to ``limit`` of the tenant's deferred sends that are due back to queued, longest
    waiting first; each move bumps the send's version, which names its dispatch."""
    return _claim(
        session,
        MessageSend,
        where=(MessageSend.tenant_id == tenant_id, *_due_send_filter(now)),
        order_by=(MessageSend.not_before, MessageSend.id),
        limit=limit,
        values={
            "status": check_transition(SendStatus.DEFERRED, SendStatus.QUEUED).value,
            "version": MessageSend.version + 1,
        },
    )


def claim_due_mailboxes(
    session: Session, tenant_id: uuid.UUID, now: datetime, interval: timedelta, *, limit: int
) -> list[Mailbox]:
    """Stamp ``poll_state.polled_at`` on up to ``limit`` of the tenant's mailboxes due for a
    poll, longest waiting first; the caller commits, then polls them outside the transaction.

    The stamp makes a mailbox not due for another ``interval``, so a replica that looks while
    it is polled passes it over.
    """
    dialect = session.get_bind().dialect.name
    stamp = polled_at_text(now)
    stamped: sa.ColumnElement[Any]
    if dialect == "postgresql":
        stamped = Mailbox.poll_state.op("||", return_type=JSONType)(
            sa.func.jsonb_build_object("polled_at", stamp)
        )
    else:
        stamped = sa.func.json_set(Mailbox.poll_state, "$.polled_at", stamp, type_=JSONType)
    return _claim(
        session,
        Mailbox,
        where=(Mailbox.tenant_id == tenant_id, *_due_mailbox_filter(dialect, now, interval)),
        order_by=(_polled_at(dialect).asc().nulls_first(), Mailbox.id),
        limit=limit,
        # Polling is not a change to the mailbox's settings.
        values={"poll_state": stamped, "updated_at": Mailbox.updated_at},
    )
