"""A provider rate limit defers the task through the outbox: no retry spent, nothing failed."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import dramatiq
import pytest
import sqlalchemy as sa

from services.demo.seed import SeededTarget
from services.sandbox.config import SandboxConfig
from services.sandbox.server import start_sandbox_in_thread
from shared.db.database import Database
from shared.db.models import Draft, OutboxMessage, Task
from shared.settings import Settings
from shared.tenancy import CreatedKey
from tests.support import amqp
from tests.support.amqp import task_envelope as envelope
from workers.outreach.actor import declare_outreach_actor
from workers.runtime.bootstrap import build_pool

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def limited_worker(settings: Settings) -> Iterator[None]:
    with start_sandbox_in_thread(SandboxConfig(requests_per_minute=1)) as sandbox:
        pool_settings = settings.model_copy(
            update={
                "openai_base_url": sandbox.base_url,
                "llm_max_inline_wait_s": 2.0,  # the sandbox asks for ~30 s: too long to sleep
                # The governor remembers the 429 for this credential across processes; keep
                # that memory away from the other tests of the run.
                "redis_key_prefix": f"{settings.redis_key_prefix}-limited-{uuid.uuid4().hex[:6]}",
            }
        )
        broker, boot = build_pool([declare_outreach_actor], pool_settings)
        boot.start()
        worker = dramatiq.Worker(broker, worker_threads=2, worker_timeout=100)
        worker.start()
        yield
        worker.stop()
        boot.stop()
        broker.close()


def _task(db: Database, tenant_id: uuid.UUID, task_id: str) -> Task | None:
    with db.unit_of_work(tenant_id) as uow:
        return uow.session.get(Task, uuid.UUID(task_id))


def test_a_rate_limited_task_is_deferred_not_failed(
    limited_worker: None,
    settings: Settings,
    db: Database,
    owner_db: Database,
    tenant: CreatedKey,
    targets: list[SeededTarget],
) -> None:
    first, second = envelope(tenant, targets[0]), envelope(tenant, targets[1])
    amqp.publish(settings.broker_url, "outreach", [amqp.dramatiq_body(first)])
    deadline = time.monotonic() + 20
    while (task := _task(db, tenant.tenant_id, first["task_id"])) is None or (
        task.status != "completed"
    ):
        assert time.monotonic() < deadline, "the first task should use the one allowed request"
        time.sleep(0.1)

    amqp.publish(settings.broker_url, "outreach", [amqp.dramatiq_body(second)])
    deferred: OutboxMessage | None = None
    deadline = time.monotonic() + 20
    while deferred is None:
        assert time.monotonic() < deadline, "the rate-limited task was not deferred"
        time.sleep(0.1)
        with owner_db.unit_of_work() as uow:
            deferred = uow.session.scalars(
                sa.select(OutboxMessage).where(
                    OutboxMessage.dedup_key == f"task:{second['task_id']}:defer:1"
                )
            ).first()

    task = _task(db, tenant.tenant_id, second["task_id"])
    assert task is not None
    assert task.status == "in_progress"
    assert task.error is None
    assert deferred.kind == "task"
    assert deferred.destination == "outreach"
    assert deferred.payload["task_id"] == second["task_id"]
    assert deferred.available_at > datetime.now(UTC), "held back until the limit passes"
    with db.unit_of_work(tenant.tenant_id) as uow:
        drafts = uow.session.scalars(
            sa.select(Draft).where(Draft.task_id == uuid.UUID(second["task_id"]))
        ).all()
    assert drafts == []
    assert amqp.drain(settings.broker_url, "outreach.DQ", timeout_s=0.5) == [], (
        "no Dramatiq retry was spent"
    )
