"""Running an agent pool in-process against the sandbox's Apollo, and publishing its tasks."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dramatiq
import sqlalchemy as sa

from services.sandbox.config import SandboxConfig
from services.sandbox.server import start_sandbox_in_thread
from shared.agents.service import create_agent
from shared.db.database import Database
from shared.db.models import OutboxMessage, Task
from shared.settings import Settings
from tests.support import amqp
from workers.runtime.bootstrap import ActorDeclaration, build_pool

FINISHED = ("completed", "failed", "cancelled")


@contextmanager
def apollo_sandbox(settings: Settings) -> Iterator[tuple[Settings, str]]:
    """Settings whose Apollo is a sandbox served over HTTP, and the sandbox's root URL."""
    with start_sandbox_in_thread(SandboxConfig()) as sandbox:
        yield (
            settings.model_copy(
                update={
                    "apollo_base_url": sandbox.provider_base_url("apollo"),
                    "worker_min_backoff_ms": 100,
                }
            ),
            sandbox.base_url.removesuffix("/v1"),
        )


@contextmanager
def running_pool(declaration: ActorDeclaration, settings: Settings) -> Iterator[None]:
    broker, boot = build_pool([declaration], settings)
    boot.start()
    worker = dramatiq.Worker(broker, worker_threads=4, worker_timeout=100)
    worker.start()
    try:
        yield
    finally:
        worker.stop()
        boot.stop()
        broker.close()


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


def publish(settings: Settings, message: dict[str, Any], *, times: int = 1) -> None:
    queue = message["agent_type"]
    body = amqp.dramatiq_body(message, queue=queue)
    amqp.publish(settings.broker_url, queue, [body] * times)


def wait_for_task(
    db: Database,
    tenant_id: uuid.UUID,
    task_id: str | uuid.UUID,
    *,
    statuses: tuple[str, ...] = FINISHED,
    timeout_s: float = 30,
) -> Task:
    deadline = time.monotonic() + timeout_s
    while True:
        with db.unit_of_work(tenant_id) as uow:
            task = uow.session.get(Task, uuid.UUID(str(task_id)))
        if task is not None and task.status in statuses:
            return task
        if time.monotonic() > deadline:
            raise AssertionError(f"task {task_id} is still {task and task.status}")
        time.sleep(0.1)


def make_agent(
    db: Database, tenant_id: uuid.UUID, agent_type: str, config: dict[str, Any] | None = None
) -> uuid.UUID:
    with db.unit_of_work(tenant_id) as uow:
        agent = create_agent(
            uow,
            tenant_id,
            agent_type=agent_type,
            name=f"{agent_type}-{uuid.uuid4().hex[:8]}",
            config=config,
        )
        uow.commit()
        return agent.id


def task_outbox(owner_db: Database, tenant_id: uuid.UUID) -> list[OutboxMessage]:
    """The tenant's task dispatches (the relay is not running, so they wait in the outbox)."""
    with owner_db.unit_of_work(None) as uow:
        return list(
            uow.session.scalars(
                sa.select(OutboxMessage).where(
                    OutboxMessage.tenant_id == tenant_id, OutboxMessage.kind == "task"
                )
            )
        )


def events_of(owner_db: Database, tenant_id: uuid.UUID, event_type: str) -> list[OutboxMessage]:
    with owner_db.unit_of_work(None) as uow:
        return list(
            uow.session.scalars(
                sa.select(OutboxMessage).where(
                    OutboxMessage.tenant_id == tenant_id,
                    OutboxMessage.kind == "event",
                    OutboxMessage.destination == event_type,
                )
            )
        )
