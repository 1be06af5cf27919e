"""A sent message to reply to, a follow-up held for it, and running a reply's classification
task on the follow-up pool (its dispatch published from the outbox, as the relay would)."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from shared.db.database import Database
from shared.db.models import Contact, Draft, MessageSend, OutboxMessage, Task
from shared.lifecycles import DraftStatus, SendStatus, TaskStatus
from shared.sending.queue import message_id_for, send_dedup_key
from tests.support import amqp, infra

OUR_ADDRESS = "sales@ours.example"


@dataclass(frozen=True)
class SentMessage:
    send_id: uuid.UUID
    draft_id: uuid.UUID
    message_id: str
    to_address: str
    followup_task_id: uuid.UUID | None


def sent_message(
    db: Database,
    tenant_id: uuid.UUID,
    contact_id: uuid.UUID,
    *,
    sent_at: datetime,
    agent_id: uuid.UUID | None = None,
    followup_agent_id: uuid.UUID | None = None,
    followup_in_days: int | None = None,
) -> SentMessage:
    """An outreach draft sent to the contact at ``sent_at``, optionally with its first
    follow-up held until ``followup_in_days`` after it."""
    with db.unit_of_work(tenant_id) as uow:
        contact = uow.session.get_one(Contact, contact_id)
        task = Task(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            agent_id=agent_id,
            agent_type="outreach",
            task_type="draft_outreach",
            status=TaskStatus.COMPLETED.value,
            input={"contact_id": str(contact_id)},
        )
        uow.session.add(task)
        uow.session.flush()
        draft = Draft(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            task_id=task.id,
            step="draft",
            agent_id=agent_id,
            contact_id=contact_id,
            channel="email",
            subject="A faster month-end close",
            body="Hello, ...",
            status=DraftStatus.SENT.value,
            sent_at=sent_at,
        )
        uow.session.add(draft)
        uow.session.flush()
        send = MessageSend(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            dedup_key=send_dedup_key(draft.id),
            draft_id=draft.id,
            agent_id=agent_id,
            contact_id=contact_id,
            channel="email",
            to_address=str(contact.email).lower(),
            from_address=OUR_ADDRESS,
            message_id=message_id_for(draft.id, OUR_ADDRESS),
            status=SendStatus.SENT.value,
            sent_at=sent_at,
        )
        uow.session.add(send)
        contact.outreach_status = "contacted"
        uow.session.flush()
        followup_id = None
        if followup_in_days is not None:
            followup_id = uuid.uuid4()
            uow.session.add(
                Task(
                    id=followup_id,
                    tenant_id=tenant_id,
                    agent_id=followup_agent_id,
                    parent_task_id=task.id,
                    agent_type="followup",
                    task_type="draft_followup",
                    status=TaskStatus.PENDING.value,
                    trigger="event",
                    input={
                        "draft_id": str(draft.id),
                        "attempt": 1,
                        **({"agent_id": str(followup_agent_id)} if followup_agent_id else {}),
                    },
                    scheduled_at=sent_at + timedelta(days=followup_in_days),
                )
            )
        uow.commit()
        return SentMessage(send.id, draft.id, send.message_id, send.to_address or "", followup_id)


def run_dispatched_task(
    db: Database, broker_url: str, tenant_id: uuid.UUID, task_id: uuid.UUID, *, times: int = 1
) -> Task:
    """Publish the task's dispatch from the outbox ``times`` times and wait for its end."""
    with db.unit_of_work(tenant_id) as uow:
        payloads = [
            row.payload
            for row in uow.session.scalars(
                sa.select(OutboxMessage).where(
                    OutboxMessage.tenant_id == tenant_id, OutboxMessage.kind == "task"
                )
            )
            if row.payload.get("task_id") == str(task_id)
        ]
    assert len(payloads) == 1, payloads
    return run_envelope(db, broker_url, tenant_id, payloads[0], times=times)


def _vhost(broker_url: str) -> str:
    return broker_url.rsplit("/", 1)[1]


def run_envelope(
    db: Database, broker_url: str, tenant_id: uuid.UUID, envelope: dict[str, Any], *, times: int = 1
) -> Task:
    queue = envelope["agent_type"]
    body = amqp.dramatiq_body(envelope, queue=queue)
    amqp.publish(broker_url, queue, [body] * times)
    task_id = uuid.UUID(envelope["task_id"])
    deadline = time.monotonic() + 30
    while True:
        with db.unit_of_work(tenant_id) as uow:
            task = uow.session.get(Task, task_id)
            finished = task is not None and task.status in ("completed", "failed")
        # Every copy handled, not just the first: a later one may still be mid-way.
        if finished and (times == 1 or infra.messages_held(_vhost(broker_url), queue) == 0):
            assert task is not None
            return task
        if time.monotonic() > deadline:
            raise AssertionError(f"task {task_id} did not finish: {task and task.status}")
        time.sleep(0.1)
