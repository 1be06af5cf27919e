"""Running the outreach and follow-up pools against the sandbox over HTTP, for drafting tests."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import dramatiq
import httpx
import sqlalchemy as sa

from services.sandbox.config import SandboxConfig
from services.sandbox.server import start_sandbox_in_thread
from shared.agents.service import create_agent
from shared.db.database import Database
from shared.db.models import ApprovalItem, Draft, OutboxMessage, ProviderUsage, Task
from shared.settings import Settings
from shared.tenancy import CreatedKey
from tests.support import amqp
from workers.followup.actor import declare_followup_actor
from workers.outreach.actor import declare_outreach_actor
from workers.runtime.bootstrap import build_pool


@dataclass(frozen=True)
class DraftingStack:
    settings: Settings
    sandbox_url: str

    def queue_faults(self, *faults: str) -> None:
        """The sandbox's next answers are spoiled by ``faults``, in order."""
        response = httpx.post(
            f"{self.sandbox_url}/_sandbox/scenario", json={"next_faults": list(faults)}
        )
        response.raise_for_status()

    def llm_requests(self) -> int:
        log = httpx.get(f"{self.sandbox_url}/_sandbox/requests").json()
        return sum(1 for r in log["requests"] if r["path"].startswith("/v1/chat"))


@contextmanager
def drafting_stack(settings: Settings) -> Iterator[DraftingStack]:
    with start_sandbox_in_thread(SandboxConfig()) as sandbox:
        pool_settings = settings.model_copy(
            update={"openai_base_url": sandbox.base_url, "worker_min_backoff_ms": 100}
        )
        broker, boot = build_pool([declare_outreach_actor, declare_followup_actor], pool_settings)
        boot.start()
        worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=100)
        worker.start()
        try:
            yield DraftingStack(pool_settings, sandbox.root_url)
        finally:
            worker.stop()
            boot.stop()
            broker.close()


def make_agent(db: Database, tenant: CreatedKey, agent_type: str, config: dict[str, Any]) -> str:
    with db.unit_of_work(tenant.tenant_id) as uow:
        agent = create_agent(
            uow,
            tenant.tenant_id,
            agent_type=agent_type,
            name=f"{agent_type} {uuid.uuid4().hex[:8]}",
            config=config,
        )
        uow.commit()
        return str(agent.id)


def run_task(
    stack: DraftingStack,
    db: Database,
    tenant: CreatedKey,
    agent_type: str,
    task_type: str,
    task_input: dict[str, Any],
) -> Task:
    """Publish a task straight to its queue, as another service would, and wait for its end."""
    task_id = str(uuid.uuid4())
    envelope = {
        "schema_version": 1,
        "task_id": task_id,
        "tenant_id": str(tenant.tenant_id),
        "agent_type": agent_type,
        "task_type": task_type,
        "priority": "medium",
        "input": task_input,
    }
    amqp.publish(
        stack.settings.broker_url, agent_type, [amqp.dramatiq_body(envelope, queue=agent_type)]
    )
    deadline = time.monotonic() + 30
    while True:
        with db.unit_of_work(tenant.tenant_id) as uow:
            task = uow.session.get(Task, uuid.UUID(task_id))
            if task is not None and task.status in ("completed", "failed"):
                return task
        if time.monotonic() > deadline:
            raise AssertionError(f"task {task_id} did not finish: {task and task.status}")
        time.sleep(0.1)


def drafts_of(db: Database, tenant: CreatedKey, task_id: uuid.UUID) -> list[Draft]:
    with db.unit_of_work(tenant.tenant_id) as uow:
        return list(uow.session.scalars(sa.select(Draft).where(Draft.task_id == task_id)).all())


def items_of(db: Database, tenant: CreatedKey, task_id: uuid.UUID) -> list[ApprovalItem]:
    with db.unit_of_work(tenant.tenant_id) as uow:
        return list(
            uow.session.scalars(
                sa.select(ApprovalItem).where(
                    ApprovalItem.tenant_id == tenant.tenant_id, ApprovalItem.task_id == task_id
                )
            ).all()
        )


def usage_keys(db: Database, tenant: CreatedKey, task_id: uuid.UUID) -> list[str | None]:
    with db.unit_of_work(tenant.tenant_id) as uow:
        return sorted(
            uow.session.scalars(
                sa.select(ProviderUsage.dedup_key).where(ProviderUsage.task_id == task_id)
            ).all(),
            key=str,
        )


def children_of(db: Database, tenant: CreatedKey, task_id: uuid.UUID) -> list[Task]:
    with db.unit_of_work(tenant.tenant_id) as uow:
        return list(
            uow.session.scalars(sa.select(Task).where(Task.parent_task_id == task_id)).all()
        )


def outbox_rows(
    db: Database, tenant: CreatedKey, destination: str
) -> list[tuple[str, dict[str, Any]]]:
    """``(dedup_key, payload)`` of the tenant's outbox rows bound for ``destination``, in the
    order their transactions began."""
    with db.unit_of_work(tenant.tenant_id) as uow:
        rows = uow.session.execute(
            sa.select(OutboxMessage.dedup_key, OutboxMessage.payload)
            .where(
                OutboxMessage.tenant_id == tenant.tenant_id,
                OutboxMessage.destination == destination,
            )
            .order_by(OutboxMessage.created_at, OutboxMessage.id)
        ).all()
    return [(row.dedup_key, row.payload) for row in rows]
