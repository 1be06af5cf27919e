"""The ``classify_reply`` task of a recorded reply, written with its dispatch."""

from __future__ import annotations

import uuid

from shared.agent_types import AgentType
from shared.agents.runtime_config import pick_agent
from shared.db.models import Task
from shared.db.unit_of_work import UnitOfWork
from shared.db.upsert import insert_if_absent
from shared.domain.tasks import envelope_for, get_task, task_event
from shared.events import EventType
from shared.lifecycles import TaskPriority, TaskStatus, TaskTrigger
from shared.task_inputs import ClassifyReplyInput

__all__ = ["CLASSIFY_TASK_TYPE", "classification_task_id", "queue_classification"]

CLASSIFY_TASK_TYPE = "classify_reply"


def classification_task_id(reply_id: uuid.UUID) -> uuid.UUID:
    return uuid.uuid5(reply_id, CLASSIFY_TASK_TYPE)


def queue_classification(
    uow: UnitOfWork, tenant_id: uuid.UUID, reply_id: uuid.UUID, *, trace_id: str | None
) -> Task:
    """The reply's classification task for the tenant's follow-up agent (``task.queued`` and
    its dispatch in the caller's transaction); its id is derived from the reply."""
    task_id = classification_task_id(reply_id)
    request = ClassifyReplyInput(reply_id=reply_id)
    created = insert_if_absent(
        uow.session,
        Task,
        {
            "id": task_id,
            "tenant_id": tenant_id,
            "agent_id": pick_agent(uow, tenant_id, AgentType.FOLLOWUP),
            "agent_type": AgentType.FOLLOWUP.value,
            "task_type": CLASSIFY_TASK_TYPE,
            "status": TaskStatus.PENDING.value,
            # An unsubscribe waiting behind a batch of drafts could still be mailed.
            "priority": TaskPriority.HIGH.value,
            "trigger": TaskTrigger.EVENT.value,
            "input": request.model_dump(mode="json"),
            "trace_id": trace_id,
        },
    )
    task = get_task(uow, tenant_id, task_id)
    if created:
        uow.record(task_event(task, EventType.TASK_QUEUED, trigger=task.trigger))
        uow.dispatch(envelope_for(task))
    return task
