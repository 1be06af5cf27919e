"""Running an agent pool in-process against the sandbox's Apollo, and publishing its tasks."""

from __future__ import annotations

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
from shared.db.models import OutboxMessage
from shared.settings import Settings
from tests.support.agent_tasks import publish as publish_messages
from workers.runtime.bootstrap import ActorDeclaration, build_pool


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


def publish(settings: Settings, message: dict[str, Any], *, times: int = 1) -> None:
    """Publish ``message`` ``times`` times straight to its agent type's queue."""
    publish_messages(settings.broker_url, message["agent_type"], message, copies=times)


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
