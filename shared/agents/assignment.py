"""Giving a task to one agent: it must be able to take it, and the input must fit the task."""

from __future__ import annotations

import uuid
from typing import Any

from shared.agent_types import AgentType
from shared.agents.service import get_agent
from shared.db.models import Task
from shared.db.unit_of_work import UnitOfWork
from shared.domain.references import check_input_references
from shared.domain.tasks import TaskSubmission, submit_task
from shared.errors import Conflict
from shared.lifecycles import AgentStatus, TaskPriority, TaskTrigger
from shared.task_inputs import validate_task_input

__all__ = ["assign_task"]

_TAKES_WORK = frozenset({AgentStatus.ACTIVE.value, AgentStatus.IDLE.value})


def assign_task(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    agent_id: uuid.UUID,
    *,
    task_type: str,
    raw_input: dict[str, Any],
    priority: TaskPriority = TaskPriority.MEDIUM,
    idempotency_key: str | None = None,
    trace_id: str | None = None,
) -> tuple[Task, bool]:
    """Queue ``task_type`` for the agent (an active or idle, enabled agent); commits.

    Returns ``(task, created)`` like :func:`submit_task`; the input names the agent, so the
    worker uses its configuration.
    """
    agent = get_agent(uow, tenant_id, agent_id)
    if not agent.enabled or agent.status not in _TAKES_WORK:
        state = "disabled" if not agent.enabled else agent.status
        raise Conflict(f"agent {agent.name!r} is {state} and takes no tasks")
    agent_type = AgentType(agent.agent_type)
    parsed = validate_task_input(agent_type, task_type, {**raw_input, "agent_id": str(agent_id)})
    check_input_references(uow, tenant_id, parsed)
    submission = TaskSubmission(
        agent_type=agent_type,
        task_type=task_type,
        input=parsed.model_dump(mode="json", exclude_none=True),
        priority=priority,
        idempotency_key=idempotency_key,
        trace_id=trace_id,
        trigger=TaskTrigger.MANUAL,
        agent_id=agent_id,
    )
    return submit_task(uow, tenant_id, submission)
