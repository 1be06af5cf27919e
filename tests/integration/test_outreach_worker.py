"""The outreach pool against real RabbitMQ and Postgres, the LLM being the sandbox over HTTP.

Messages are published with plain pika, as another service would, straight to the queue.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import dramatiq
import pytest
import sqlalchemy as sa

from services.demo.seed import SeededTarget
from services.sandbox.config import SandboxConfig
from services.sandbox.server import start_sandbox_in_thread
from shared.broker.topology import DEAD_LETTER_REASON_HEADER
from shared.db.database import Database
from shared.db.models import ApprovalItem, Draft, Task
from shared.settings import Settings
from shared.tenancy import CreatedKey
from tests.support import amqp
from tests.support.amqp import task_envelope as envelope
from workers.outreach.actor import declare_outreach_actor
from workers.runtime.bootstrap import build_pool

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pool_settings(settings: Settings) -> Iterator[Settings]:
    with start_sandbox_in_thread(SandboxConfig()) as sandbox:
        yield settings.model_copy(
            update={"openai_base_url": sandbox.base_url, "worker_min_backoff_ms": 100}
        )


@pytest.fixture(scope="module")
def worker(pool_settings: Settings) -> Iterator[None]:
    broker, boot = build_pool([declare_outreach_actor], pool_settings)
    boot.start()
    running = dramatiq.Worker(broker, worker_threads=4, worker_timeout=100)
    running.start()
    yield
    running.stop()
    boot.stop()
    broker.close()


def wait_for_status(
    db: Database, tenant_id: uuid.UUID, task_id: str, timeout_s: float = 30
) -> Task:
    deadline = time.monotonic() + timeout_s
    while True:
        with db.unit_of_work(tenant_id) as uow:
            task = uow.session.get(Task, uuid.UUID(task_id))
            if task is not None and task.status in ("completed", "failed"):
                return task
        if time.monotonic() > deadline:
            raise AssertionError(f"task {task_id} did not finish: {task and task.status}")
        time.sleep(0.1)


def test_a_message_published_straight_to_the_queue_becomes_a_draft(
    worker: None, settings: Settings, db: Database, tenant: CreatedKey, targets: list[SeededTarget]
) -> None:
    message = envelope(tenant, targets[0])

    amqp.publish(settings.broker_url, "outreach", [amqp.dramatiq_body(message)])
    task = wait_for_status(db, tenant.tenant_id, message["task_id"])

    assert task.status == "completed", task.error
    with db.unit_of_work(tenant.tenant_id) as uow:
        draft = uow.session.scalars(sa.select(Draft).where(Draft.task_id == task.id)).one()
        item = uow.session.scalars(
            sa.select(ApprovalItem).where(ApprovalItem.draft_id == draft.id)
        ).one()
    assert item.status == "pending"
    assert targets[0].contact_name.split()[0] in draft.body
    assert draft.personalization["facts_used"], "the draft cites the facts it used"
    assert {fact["source"] for fact in draft.personalization["facts_used"]} & {
        "opportunity.title",
        "contact.title",
        "contact.company",
    }
    assert draft.prompt_version
    assert draft.input_hash
    assert draft.model


def test_the_same_message_delivered_twice_makes_one_draft(
    worker: None, settings: Settings, db: Database, tenant: CreatedKey, targets: list[SeededTarget]
) -> None:
    message = envelope(tenant, targets[1])
    body = amqp.dramatiq_body(message)

    amqp.publish(settings.broker_url, "outreach", [body, body])
    wait_for_status(db, tenant.tenant_id, message["task_id"])
    time.sleep(1.0)  # let the second delivery finish too

    with db.unit_of_work(tenant.tenant_id) as uow:
        drafts = uow.session.scalars(
            sa.select(Draft).where(Draft.task_id == uuid.UUID(message["task_id"]))
        ).all()
        items = uow.session.scalars(
            sa.select(ApprovalItem).where(ApprovalItem.task_id == uuid.UUID(message["task_id"]))
        ).all()
    assert len(drafts) == 1
    assert len(items) == 1


def test_invalid_messages_are_dead_lettered_with_reasons_and_the_next_is_processed(
    worker: None, settings: Settings, db: Database, tenant: CreatedKey, targets: list[SeededTarget]
) -> None:
    amqp.drain(settings.broker_url, "outreach.XQ", timeout_s=0.2, expect=1000)
    missing_field = envelope(tenant, targets[2])
    del missing_field["task_type"]
    wrong_version = envelope(tenant, targets[2], schema_version=2)
    unknown_agent = envelope(tenant, targets[2], agent_type="astrologer")
    unknown_tenant = envelope(tenant, targets[2], tenant_id=str(uuid.uuid4()))
    good = envelope(tenant, targets[3])
    malformed = b'{"queue_name": "outreach", "actor_name": "outreach", "args": ['
    bodies = [
        malformed,
        amqp.dramatiq_body(wrong_version),
        amqp.dramatiq_body(unknown_agent),
        amqp.dramatiq_body(missing_field),
        amqp.dramatiq_body(unknown_tenant),
        amqp.dramatiq_body(good),
    ]

    amqp.publish(settings.broker_url, "outreach", bodies)
    finished = wait_for_status(db, tenant.tenant_id, good["task_id"])
    dead = amqp.drain(settings.broker_url, "outreach.XQ", expect=5, timeout_s=15)

    assert finished.status == "completed"
    reasons = sorted(headers[DEAD_LETTER_REASON_HEADER] for _, headers in dead)
    assert len(reasons) == 5, reasons
    assert any("malformed message" in r for r in reasons)
    assert any("unsupported version 2" in r for r in reasons)
    assert any("astrologer" in r for r in reasons)
    assert any("'task_type' is a required property" in r for r in reasons)
    assert any(f"tenant {unknown_tenant['tenant_id']} does not exist" in r for r in reasons)
    with db.unit_of_work(tenant.tenant_id) as uow:
        recorded = uow.session.get(Task, uuid.UUID(wrong_version["task_id"]))
    assert recorded is not None
    assert recorded.status == "failed"
    assert "invalid message" in (recorded.error or "")
    parked = [json.loads(body) for body, _ in dead if body != malformed]
    assert {m["args"][0]["task_id"] for m in parked} == {
        m["task_id"] for m in (wrong_version, unknown_agent, missing_field, unknown_tenant)
    }, "parked messages keep their bodies for replay"


def test_a_finished_task_is_skipped_on_redelivery(
    worker: None, settings: Settings, db: Database, tenant: CreatedKey, targets: list[SeededTarget]
) -> None:
    message = envelope(tenant, targets[4])
    amqp.publish(settings.broker_url, "outreach", [amqp.dramatiq_body(message)])
    first = wait_for_status(db, tenant.tenant_id, message["task_id"])

    amqp.publish(settings.broker_url, "outreach", [amqp.dramatiq_body(message)])
    time.sleep(1.0)

    with db.unit_of_work(tenant.tenant_id) as uow:
        again = uow.session.get(Task, first.id)
    assert again is not None
    assert again.status == "completed"
    assert again.attempts == first.attempts
