"""An agent's activity log, newest first, filtered by action and time, paged."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa

from shared.agents.service import get_agent
from shared.db.models import ActivityLogEntry
from shared.db.unit_of_work import UnitOfWork

__all__ = ["list_agent_activity"]


def list_agent_activity(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    agent_id: uuid.UUID,
    *,
    actions: Sequence[str] = (),
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[ActivityLogEntry], int]:
    """Entries of one agent (``NotFound`` for another tenant's) with the total before paging.

    ``actions`` keeps entries whose action is one of them; ``since`` is inclusive, ``until``
    exclusive.
    """
    get_agent(uow, tenant_id, agent_id)
    query = sa.select(ActivityLogEntry).where(
        ActivityLogEntry.tenant_id == tenant_id, ActivityLogEntry.agent_id == agent_id
    )
    if actions:
        query = query.where(ActivityLogEntry.action.in_(list(actions)))
    if since is not None:
        query = query.where(ActivityLogEntry.created_at >= since)
    if until is not None:
        query = query.where(ActivityLogEntry.created_at < until)
    total = uow.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    entries = uow.session.scalars(
        query.order_by(ActivityLogEntry.created_at.desc(), ActivityLogEntry.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return list(entries), total
