"""The sender pool's actor on real RabbitMQ (an in-process Dramatiq worker): copies of one send
message delivered at once make one email, and invalid messages are dead-lettered with reasons."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import dramatiq
import pytest

from services.demo.seed import SeededTarget
from shared.broker.topology import DEAD_LETTER_REASON_HEADER
from shared.db.database import Database
from shared.settings import Settings
from shared.tenancy import CreatedKey
from tests.support import amqp
from tests.support.agent_runs import events_of
from tests.support.sender import approve_and_queue, make_mailbox, send_row
from tests.support.smtp import RecordingSmtpServer
from workers.runtime.bootstrap import build_pool
from workers.sender.actor import declare_sender_actor

pytestmark = pytest.mark.integration

QUEUE = "sender"


@dataclass(frozen=True)
class SenderPool:
    broker: dramatiq.Broker
    worker: dramatiq.Worker

    def settle(self) -> None:
        """Wait until every message on the queue was taken and handled."""
        self.broker.join(QUEUE, timeout=30_000)
        self.worker.join()


@pytest.fixture(scope="module")
def pool(settings: Settings) -> Iterator[SenderPool]:
    broker, boot = build_pool([declare_sender_actor], settings)
    boot.start()
    worker = dramatiq.Worker(broker, worker_threads=4, worker_timeout=100)
    worker.start()
    yield SenderPool(broker, worker)
    worker.stop()
    boot.stop()
    broker.close()


def test_copies_of_one_send_message_delivered_at_once_make_one_email(
    pool: SenderPool,
    settings: Settings,
    db: Database,
    owner_db: Database,
    tenant: CreatedKey,
    targets: list[SeededTarget],
) -> None:
    with RecordingSmtpServer() as smtp:
        make_mailbox(db, settings, tenant.tenant_id, smtp)
        queued = approve_and_queue(db, tenant.tenant_id, targets[0])
        body = amqp.dramatiq_body(queued.request.to_json_dict(), queue=QUEUE)

        amqp.publish(settings.broker_url, QUEUE, [body, body, body])
        pool.settle()

        assert smtp.count == 1
    assert send_row(db, tenant.tenant_id, queued.send_id).status == "sent"
    assert len(events_of(owner_db, tenant.tenant_id, "message.sent")) == 1


def test_invalid_send_messages_are_dead_lettered_with_reasons(
    pool: SenderPool,
    settings: Settings,
    db: Database,
    tenant: CreatedKey,
    targets: list[SeededTarget],
) -> None:
    amqp.drain(settings.broker_url, f"{QUEUE}.XQ", timeout_s=0.2, expect=1000)
    with RecordingSmtpServer() as smtp:
        make_mailbox(db, settings, tenant.tenant_id, smtp)
        good = approve_and_queue(db, tenant.tenant_id, targets[1])
        payload = good.request.to_json_dict()
        bad = [
            ["not", "an", "object"],
            {**payload, "schema_version": 2},
            {**payload, "send_id": "not-a-uuid"},
            {**payload, "send_id": str(uuid.uuid4())},
            {**payload, "dedup_key": "task:whatever"},
        ]
        bodies = [amqp.dramatiq_body(raw, queue=QUEUE) for raw in bad]

        amqp.publish(
            settings.broker_url, QUEUE, [*bodies, amqp.dramatiq_body(payload, queue=QUEUE)]
        )
        pool.settle()
        dead = amqp.drain(settings.broker_url, f"{QUEUE}.XQ", expect=len(bad), timeout_s=15)

        assert smtp.count == 1, "the valid message after the invalid ones was delivered"
    reasons = sorted(headers[DEAD_LETTER_REASON_HEADER] for _, headers in dead)
    assert len(reasons) == len(bad), reasons
    assert any("not a JSON object" in r for r in reasons)
    assert any("schema_version 2" in r for r in reasons)
    assert any("not a UUID" in r for r in reasons)
    assert any("not found" in r for r in reasons)
    assert any("not a send key" in r for r in reasons)
