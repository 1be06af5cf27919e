"""Recording what an agent did: one activity-log row per action, in the step's transaction."""

from __future__ import annotations

import uuid
from typing import Any

from shared.db.models import ActivityLogEntry, ActorKind, Task
from shared.db.unit_of_work import UnitOfWork

__all__ = ["log_agent_action"]


def log_agent_action(
    uow: UnitOfWork,
    task: Task,
    action: str,
    *,
    entity_type: str | None = None,
    entity_id: uuid.UUID | None = None,
    agent_id: uuid.UUID | None = None,
    **details: Any,
) -> None:
    """``action`` is a stable dotted name (``account.imported``, ``draft.created``)."""
    uow.session.add(
        ActivityLogEntry(
            tenant_id=task.tenant_id,
            agent_id=agent_id or task.agent_id,
            task_id=task.id,
            actor_kind=ActorKind.AGENT,
            actor_id=task.agent_type,
            action=action,
            entity_type=entity_type,
            entity_id=entity_id,
            details=details,
        )
    )
