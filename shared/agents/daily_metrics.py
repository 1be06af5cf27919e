"""Per-agent daily counters: one atomic upsert per change, in the transaction that caused it."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from shared.db.base import utcnow
from shared.db.models import Agent, DailyMetric, Task
from shared.db.unit_of_work import UnitOfWork

__all__ = ["COUNTERS", "bump_daily_metrics", "record_task_outcome"]

COUNTERS: frozenset[str] = frozenset(
    {
        "tasks_completed",
        "tasks_failed",
        "drafts_created",
        "approvals_approved",
        "approvals_rejected",
        "messages_sent",
        "responses",
        "response_time_s_total",
        "opportunities_identified",
        "items_processed",
        "tokens_in",
        "tokens_out",
        "cost_usd",
    }
)

_UNIQUE = "uq_daily_metrics_tenant_id_day_agent_type_agent_id"
_KEY = ("tenant_id", "day", "agent_type", "agent_id")


def bump_daily_metrics(
    uow: UnitOfWork,
    *,
    tenant_id: uuid.UUID,
    agent_id: uuid.UUID | None,
    agent_type: str,
    day: date | None = None,
    **increments: int | Decimal,
) -> None:
    """Add ``increments`` (counter name -> amount) to the agent's row of ``day`` (UTC today).

    One ``INSERT ... ON CONFLICT DO UPDATE SET col = col + excluded.col``, so concurrent
    workers never lose an increment. ``agent_id=None`` counts work of the type done by no agent.
    """
    unknown = set(increments) - COUNTERS
    if unknown:
        raise ValueError(f"unknown daily metric counters: {', '.join(sorted(unknown))}")
    amounts = {name: amount for name, amount in increments.items() if amount}
    if not amounts:
        return
    session = uow.session
    values = {
        "id": uuid.uuid4(),
        "tenant_id": tenant_id,
        "day": day or utcnow().date(),
        "agent_type": agent_type,
        "agent_id": agent_id,
        **dict.fromkeys(COUNTERS, 0),
        **amounts,
    }
    if session.get_bind().dialect.name == "postgresql":
        pg_insert = postgresql.insert(DailyMetric).values(values)
        statement: sa.Executable = pg_insert.on_conflict_do_update(
            constraint=_UNIQUE,
            set_={name: _column(name) + pg_insert.excluded[name] for name in amounts},
        )
    else:
        lite_insert = sqlite.insert(DailyMetric).values(values)
        statement = lite_insert.on_conflict_do_update(
            index_elements=list(_KEY),
            set_={name: _column(name) + lite_insert.excluded[name] for name in amounts},
        )
    session.execute(statement)


def _column(name: str) -> sa.ColumnElement[Any]:
    column: sa.ColumnElement[Any] = getattr(DailyMetric, name)
    return column


def record_task_outcome(uow: UnitOfWork, task: Task, **increments: int) -> None:
    """Count a finished task for its agent on the day it finished.

    Tasks submitted without an agent column but naming one in their input count for that
    agent, if it exists.
    """
    finished = task.completed_at or utcnow()
    bump_daily_metrics(
        uow,
        tenant_id=task.tenant_id,
        agent_id=task.agent_id or _input_agent(uow, task),
        agent_type=task.agent_type,
        day=finished.date(),
        **increments,
    )


def _input_agent(uow: UnitOfWork, task: Task) -> uuid.UUID | None:
    raw = (task.input or {}).get("agent_id")
    if not isinstance(raw, str):
        return None
    try:
        candidate = uuid.UUID(raw)
    except ValueError:
        return None
    found: uuid.UUID | None = uow.session.scalar(
        sa.select(Agent.id).where(Agent.tenant_id == task.tenant_id, Agent.id == candidate)
    )
    return found
