"""Hand-offs between agents: the next task, written in the transaction that finished a step.

The next task's id is derived from the step that hands it on, so a redelivered step writes
the same task id and nothing twice; each hand-off is also an agent message.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.agent_types import AgentType
from shared.agents.activity import log_agent_action
from shared.agents.runtime_config import pick_agent
from shared.db.models import AgentMessage, AgentMessageType, Task
from shared.db.unit_of_work import UnitOfWork
from shared.db.upsert import insert_if_absent
from shared.domain.tasks import envelope_for, get_task, task_event
from shared.events import EventType
from shared.lifecycles import TaskPriority, TaskStatus, TaskTrigger
from shared.task_inputs import (
    EnrichAccountInput,
    FindContactsInput,
    PipelineSpec,
    ScoreRecordsInput,
)

AccountStepInput = EnrichAccountInput | FindContactsInput | ScoreRecordsInput

__all__ = ["HandOff", "hand_account_on", "hand_off", "hand_off_id"]


@dataclass(frozen=True)
class HandOff:
    """Work for the next agent: ``key`` tells hand-offs of one step apart (e.g. an account id)."""

    agent_type: AgentType
    task_type: str
    input: dict[str, Any]
    key: str
    to_agent_id: uuid.UUID | None = None
    message_type: AgentMessageType = AgentMessageType.REQUEST
    priority: TaskPriority | None = None
    due_at: datetime | None = None
    """Hold the task in Postgres until then (the scheduler dispatches it)."""


def hand_off_id(parent_task_id: uuid.UUID, handoff_key: str) -> uuid.UUID:
    return uuid.uuid5(parent_task_id, handoff_key)


def hand_off(uow: UnitOfWork, parent: Task, handoff: HandOff) -> Task | None:
    """Write the next task (with ``task.queued`` and, unless held, its dispatch) and the agent
    message; returns the new task, or None when this step already handed it on."""
    task_id = hand_off_id(parent.id, f"{handoff.agent_type.value}:{handoff.key}")
    created = insert_if_absent(
        uow.session,
        Task,
        {
            "id": task_id,
            "tenant_id": parent.tenant_id,
            "agent_id": handoff.to_agent_id,
            "parent_task_id": parent.id,
            "agent_type": handoff.agent_type.value,
            "task_type": handoff.task_type,
            "status": TaskStatus.PENDING.value,
            "priority": (handoff.priority or TaskPriority(parent.priority)).value,
            "trigger": TaskTrigger.EVENT.value,
            "input": handoff.input,
            "trace_id": parent.trace_id,
            "scheduled_at": handoff.due_at,
        },
    )
    if not created:
        return None
    task = get_task(uow, parent.tenant_id, task_id)
    uow.session.add(
        AgentMessage(
            tenant_id=parent.tenant_id,
            from_agent_id=parent.agent_id,
            to_agent_id=handoff.to_agent_id,
            task_id=task.id,
            message_type=handoff.message_type.value,
            payload={
                "from_task_id": str(parent.id),
                "from_agent_type": parent.agent_type,
                "agent_type": handoff.agent_type.value,
                "task_type": handoff.task_type,
                "input": handoff.input,
            },
        )
    )
    uow.record(task_event(task, EventType.TASK_QUEUED, trigger=task.trigger))
    if handoff.due_at is None:
        uow.dispatch(envelope_for(task))
    return task


_ACCOUNT_STEPS: dict[AgentType, tuple[str, type[AccountStepInput]]] = {
    AgentType.ENRICHMENT: ("enrich_account", EnrichAccountInput),
    AgentType.CONTACT_FINDER: ("find_contacts", FindContactsInput),
    AgentType.SCORING: ("score_records", ScoreRecordsInput),
}


def hand_account_on(
    uow: UnitOfWork,
    parent: Task,
    account_id: uuid.UUID,
    agent_type: AgentType,
    pipeline: PipelineSpec,
) -> uuid.UUID:
    """Hand one account to the pipeline's next per-account step (enrichment, contact_finder or
    scoring), taken by the run's agent for that type or the tenant's; the next task's id
    (the same on a repeat, when nothing new is written)."""
    agent_id = pick_agent(uow, parent.tenant_id, agent_type, pipeline.agents.get(agent_type))
    task_type, model = _ACCOUNT_STEPS[agent_type]
    request = model(account_id=account_id, agent_id=agent_id, pipeline=pipeline)
    created = hand_off(
        uow,
        parent,
        HandOff(
            agent_type=agent_type,
            task_type=task_type,
            input=request.model_dump(mode="json", exclude_none=True),
            key=str(account_id),
            to_agent_id=agent_id,
        ),
    )
    if created is None:
        return hand_off_id(parent.id, f"{agent_type.value}:{account_id}")
    log_agent_action(
        uow,
        parent,
        "account.handed_off",
        entity_type="account",
        entity_id=account_id,
        to_agent_type=agent_type.value,
        to_task_id=str(created.id),
    )
    return created.id
