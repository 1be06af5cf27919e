"""Helpers for agent pool tests: task envelopes for any queue, waiting on a task, an agent row."""

from __future__ import annotations

import time
import uuid
from typing import Any

from shared.db.database import Database
from shared.db.models import Agent, Task
from tests.support import amqp


def envelope(
    tenant_id: uuid.UUID, agent_type: str, task_type: str, task_input: dict[str, Any]
) -> dict[str, Any]:
    return {
        "schema_version": 1,
        "task_id": str(uuid.uuid4()),
        "tenant_id": str(tenant_id),
        "agent_type": agent_type,
        "task_type": task_type,
        "priority": "medium",
        "input": task_input,
    }


def publish(broker_url: str, queue: str, *messages: dict[str, Any], copies: int = 1) -> None:
    """Publish each message ``copies`` times, straight to the queue, as another service would."""
    bodies = [amqp.dramatiq_body(m, queue=queue) for m in messages]
    amqp.publish(broker_url, queue, [body for body in bodies for _ in range(copies)])


FINISHED = ("completed", "failed", "cancelled")


def wait_for_task(
    db: Database,
    tenant_id: uuid.UUID,
    task_id: str | uuid.UUID,
    *,
    statuses: tuple[str, ...] = FINISHED,
    timeout_s: float = 30,
) -> Task:
    """The task once it reaches one of ``statuses`` (by default: finished)."""
    deadline = time.monotonic() + timeout_s
    while True:
        with db.unit_of_work(tenant_id) as uow:
            task = uow.session.get(Task, uuid.UUID(str(task_id)))
        if task is not None and task.status in statuses:
            return task
        if time.monotonic() > deadline:
            raise AssertionError(f"task {task_id} is still {task and task.status}")
        time.sleep(0.1)


def add_agent(
    db: Database, tenant_id: uuid.UUID, agent_type: str, config: dict[str, Any] | None = None
) -> uuid.UUID:
    agent_id = uuid.uuid4()
    with db.unit_of_work(tenant_id) as uow:
        uow.session.add(
            Agent(
                id=agent_id,
                tenant_id=tenant_id,
                agent_type=agent_type,
                name=f"{agent_type}-{agent_id.hex[:8]}",
                config=config or {},
            )
        )
        uow.commit()
    return agent_id
