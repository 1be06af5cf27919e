"""Cancelling tasks: a queued task never runs, a running one stops at its next step."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import dramatiq
import httpx
import pytest
import sqlalchemy as sa

from services.demo.seed import SeededTarget
from services.sandbox.config import SandboxConfig
from services.sandbox.server import start_sandbox_in_thread
from shared.db.database import Database
from shared.db.models import Draft, OutboxMessage, ProviderUsage, Task
from shared.settings import Settings
from shared.tenancy import CreatedKey, create_api_key, create_tenant
from tests.support import amqp
from tests.support.amqp import task_envelope
from tests.support.api import auth, outreach_body, post_task
from workers.outreach.actor import declare_outreach_actor
from workers.runtime.bootstrap import build_pool

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def slow_sandbox() -> Iterator[str]:
    with start_sandbox_in_thread(SandboxConfig()) as sandbox:
        yield sandbox.base_url


@pytest.fixture(scope="module")
def worker(settings: Settings, slow_sandbox: str) -> Iterator[None]:
    pool_settings = settings.model_copy(update={"openai_base_url": slow_sandbox})
    broker, boot = build_pool([declare_outreach_actor], pool_settings)
    boot.start()
    running = dramatiq.Worker(broker, worker_threads=2, worker_timeout=100)
    running.start()
    yield
    running.stop()
    boot.stop()
    broker.close()


def _task(db: Database, tenant_id: uuid.UUID, task_id: str) -> Task | None:
    with db.unit_of_work(tenant_id) as uow:
        return uow.session.get(Task, uuid.UUID(task_id))


def _drafts(db: Database, tenant_id: uuid.UUID, task_id: str) -> int:
    with db.unit_of_work(tenant_id) as uow:
        count = uow.session.scalar(
            sa.select(sa.func.count()).select_from(Draft).where(Draft.task_id == uuid.UUID(task_id))
        )
    return count or 0


def test_cancel_through_the_api(
    api: httpx.Client,
    tenant: CreatedKey,
    targets: list[SeededTarget],
    db: Database,
    owner_db: Database,
) -> None:
    other = create_api_key(db, create_tenant(db, "Other Canceller"))
    task_id = post_task(api, tenant.token, outreach_body(targets[0].contact_id)).json()["id"]

    foreign = api.post(f"/v1/tasks/{task_id}/cancel", headers=auth(other.token))
    cancelled = api.post(f"/v1/tasks/{task_id}/cancel", headers=auth(tenant.token))
    again = api.post(f"/v1/tasks/{task_id}/cancel", headers=auth(tenant.token))
    unknown = api.post(f"/v1/tasks/{uuid.uuid4()}/cancel", headers=auth(tenant.token))

    assert foreign.status_code == 404
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert again.status_code == 409
    assert unknown.status_code == 404
    with owner_db.unit_of_work() as uow:
        events = uow.session.scalars(
            sa.select(OutboxMessage.destination).where(OutboxMessage.kind == "event")
        ).all()
        mine = uow.session.scalars(
            sa.select(OutboxMessage.payload).where(OutboxMessage.destination == "task.cancelled")
        ).all()
    assert "task.cancelled" in events
    assert task_id in {p["aggregate_id"] for p in mine}


def test_a_cancelled_queued_task_never_runs(
    worker: None,
    api: httpx.Client,
    settings: Settings,
    tenant: CreatedKey,
    targets: list[SeededTarget],
    db: Database,
) -> None:
    envelope = task_envelope(tenant, targets[1])
    created = post_task(
        api,
        tenant.token,
        outreach_body(targets[1].contact_id, task_id=envelope["task_id"]),
    )
    assert created.status_code == 202
    assert (
        api.post(f"/v1/tasks/{envelope['task_id']}/cancel", headers=auth(tenant.token)).status_code
        == 200
    )

    amqp.publish(settings.broker_url, "outreach", [amqp.dramatiq_body(envelope)])
    time.sleep(1.5)

    task = _task(db, tenant.tenant_id, envelope["task_id"])
    assert task is not None
    assert task.status == "cancelled"
    assert task.attempts == 0
    assert _drafts(db, tenant.tenant_id, envelope["task_id"]) == 0
    with db.unit_of_work(tenant.tenant_id) as uow:
        calls = uow.session.scalar(
            sa.select(sa.func.count())
            .select_from(ProviderUsage)
            .where(ProviderUsage.task_id == task.id)
        )
    assert calls == 0  # every provider call, answered or failed, is recorded against its task


def test_a_running_task_stops_at_its_next_step_and_its_call_is_still_billed(
    worker: None,
    slow_sandbox: str,
    api: httpx.Client,
    settings: Settings,
    tenant: CreatedKey,
    targets: list[SeededTarget],
    db: Database,
) -> None:
    root = slow_sandbox.removesuffix("/v1")
    httpx.post(f"{root}/_sandbox/scenario", json={"latency_ms": 1500}, timeout=5).raise_for_status()
    envelope = task_envelope(tenant, targets[2])
    try:
        amqp.publish(settings.broker_url, "outreach", [amqp.dramatiq_body(envelope)])
        deadline = time.monotonic() + 10
        while (task := _task(db, tenant.tenant_id, envelope["task_id"])) is None or (
            task.status != "in_progress"
        ):
            assert time.monotonic() < deadline, "the task never started"
            time.sleep(0.05)
        cancelled = api.post(f"/v1/tasks/{envelope['task_id']}/cancel", headers=auth(tenant.token))
        time.sleep(2.5)  # the model answers, and the worker reaches its next step
    finally:
        httpx.post(f"{root}/_sandbox/scenario", json={"latency_ms": 0}, timeout=5)

    assert cancelled.status_code == 200
    task = _task(db, tenant.tenant_id, envelope["task_id"])
    assert task is not None
    assert task.status == "cancelled"
    assert _drafts(db, tenant.tenant_id, envelope["task_id"]) == 0
    with db.unit_of_work(tenant.tenant_id) as uow:
        billed = uow.session.scalars(
            sa.select(ProviderUsage).where(ProviderUsage.task_id == uuid.UUID(envelope["task_id"]))
        ).all()
    assert [(b.outcome, b.draft_id) for b in billed] == [("ok", None)]
