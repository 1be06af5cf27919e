"""``maxOpportunitiesPerDay``: how many contacts a scoring agent handed to outreach today.

The count is taken under a lock on the agent row (``FOR NO KEY UPDATE``: it serialises
scoring steps of one agent without blocking rows that merely reference the agent), held
until the step commits its hand-offs, so concurrent steps in any process cannot together
exceed the cap. Steps run without an agent share a per-tenant advisory lock instead.
"""

from __future__ import annotations

import uuid
from datetime import datetime, time

import sqlalchemy as sa
from sqlalchemy.orm import aliased

from shared.agent_types import AgentType
from shared.db.models import Agent, Task
from shared.db.unit_of_work import UnitOfWork
from shared.errors import NotFound

__all__ = ["lock_and_count_handoffs", "utc_day_start"]


def utc_day_start(now: datetime) -> datetime:
    return datetime.combine(now.date(), time.min, tzinfo=now.tzinfo)


def lock_and_count_handoffs(
    uow: UnitOfWork, tenant_id: uuid.UUID, agent_id: uuid.UUID | None, now: datetime
) -> int:
    """Lock the scoring agent's quota and count its outreach hand-offs since UTC midnight."""
    session = uow.session
    if agent_id is not None:
        locked = session.scalar(
            sa.select(Agent.id)
            .where(Agent.tenant_id == tenant_id, Agent.id == agent_id)
            .with_for_update(key_share=True)
        )
        if locked is None:
            raise NotFound(f"agent {agent_id} not found")
    elif session.get_bind().dialect.name == "postgresql":
        key = uuid.uuid5(tenant_id, "scoring:daily-handoffs").int >> 65
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))
    parent = aliased(Task)
    by_agent = (
        sa.or_(parent.agent_id == agent_id, parent.input["agent_id"].as_string() == str(agent_id))
        if agent_id is not None
        else sa.and_(parent.agent_id.is_(None), parent.input["agent_id"].as_string().is_(None))
    )
    counted = session.scalar(
        sa.select(sa.func.count())
        .select_from(Task)
        .join(parent, Task.parent_task_id == parent.id)
        .where(
            Task.tenant_id == tenant_id,
            Task.agent_type == AgentType.OUTREACH.value,
            Task.created_at >= utc_day_start(now),
            parent.tenant_id == tenant_id,
            parent.agent_type == AgentType.SCORING.value,
            by_agent,
        )
    )
    return int(counted or 0)
