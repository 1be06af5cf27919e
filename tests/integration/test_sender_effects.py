"""What a send's going out causes (``record_sent``), with or without SMTP: follow-ups scheduled
from the send time as the agents' configs ask, a hand-sent LinkedIn message, contact status."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from services.demo.seed import SeededTarget
from shared.db.database import Database
from shared.db.models import ActivityLogEntry, Contact, DailyMetric, MessageSend, Task
from shared.sending.delivered import record_sent
from shared.settings import Settings
from shared.tenancy import CreatedKey
from tests.support.agent_runs import events_of, make_agent
from tests.support.sender import (
    QueuedSend,
    approve_and_queue,
    make_mailbox,
    send_row,
    sender_tools,
)
from tests.support.smtp import RecordingSmtpServer
from workers.sender.service import deliver_send

pytestmark = pytest.mark.integration

SENT_AT = datetime(2030, 3, 4, 10, 0, tzinfo=UTC)


def mark_sent(
    db: Database, tenant_id: uuid.UUID, queued: QueuedSend, resolved_by: str | None = None
) -> None:
    with db.unit_of_work(tenant_id) as uow:
        send = uow.session.get(MessageSend, queued.send_id, with_for_update=True)
        assert send is not None
        record_sent(uow, send, sent_at=SENT_AT, server_response=None, resolved_by=resolved_by)
        uow.commit()


def children(db: Database, tenant_id: uuid.UUID, task_id: uuid.UUID) -> list[Task]:
    with db.unit_of_work(tenant_id) as uow:
        return list(uow.session.scalars(sa.select(Task).where(Task.parent_task_id == task_id)))


def test_notify_followup_agent_schedules_the_first_followup_when_the_email_is_sent(
    settings: Settings,
    db: Database,
    owner_db: Database,
    tenant: CreatedKey,
    targets: list[SeededTarget],
) -> None:
    tenant_id = tenant.tenant_id
    followup_agent = make_agent(db, tenant_id, "followup")
    notifying = make_agent(
        db, tenant_id, "outreach", {"notifyFollowupAgent": True, "defaultFollowupDelayDays": 2}
    )
    quiet = make_agent(db, tenant_id, "outreach", {"notifyFollowupAgent": False})
    with RecordingSmtpServer() as smtp:
        make_mailbox(db, settings, tenant_id, smtp)
        notified = approve_and_queue(db, tenant_id, targets[0], agent_id=notifying)
        unnotified = approve_and_queue(db, tenant_id, targets[1], agent_id=quiet)
        assert children(db, tenant_id, notified.task_id) == [], "nothing before the send"

        deliver_send(db, sender_tools(settings), notified.request)
        deliver_send(db, sender_tools(settings), unnotified.request)

        assert smtp.count == 2
    sent_at = send_row(db, tenant_id, notified.send_id).sent_at
    assert sent_at is not None
    [held] = children(db, tenant_id, notified.task_id)
    assert (held.agent_type, held.task_type, held.status) == (
        "followup",
        "draft_followup",
        "pending",
    )
    assert held.agent_id == followup_agent
    assert held.input["draft_id"] == str(notified.draft_id)
    assert held.input["attempt"] == 1
    assert held.scheduled_at == sent_at + timedelta(days=2)
    assert children(db, tenant_id, unnotified.task_id) == []
    scheduled = events_of(owner_db, tenant_id, "followup.scheduled")
    assert [e.payload["aggregate_id"] for e in scheduled] == [str(held.id)]
    sent = {
        e.payload["aggregate_id"]: e.payload["payload"]
        for e in events_of(owner_db, tenant_id, "message.sent")
    }
    assert sent[str(notified.send_id)]["followup_task_id"] == str(held.id)
    assert sent[str(unnotified.send_id)]["followup_task_id"] is None


def test_a_sent_followup_schedules_the_next_one_below_the_maximum(
    db: Database, tenant: CreatedKey, targets: list[SeededTarget]
) -> None:
    tenant_id = tenant.tenant_id
    agent = make_agent(
        db,
        tenant_id,
        "followup",
        {"maxFollowups": 2, "escalationAfterAttempts": 2, "defaultFollowupDelayDays": 4},
    )
    original = approve_and_queue(db, tenant_id, targets[2])
    followups = [
        approve_and_queue(
            db,
            tenant_id,
            targets[2],
            agent_id=agent,
            agent_type="followup",
            channel="linkedin",
            personalization={
                "followup": {
                    "attempt": attempt,
                    "original_draft_id": str(original.draft_id),
                    "followup_type": "reminder",
                }
            },
        )
        for attempt in (1, 2)
    ]

    for queued in followups:
        mark_sent(db, tenant_id, queued)

    [second] = children(db, tenant_id, followups[0].task_id)
    assert second.input["attempt"] == 2
    assert second.input["draft_id"] == str(original.draft_id)
    assert second.agent_id == agent
    assert second.scheduled_at == SENT_AT + timedelta(days=4)
    assert children(db, tenant_id, followups[1].task_id) == [], "none past maxFollowups"


def test_a_linkedin_message_a_person_sent_by_hand_counts_as_sent(
    db: Database, owner_db: Database, tenant: CreatedKey, targets: list[SeededTarget]
) -> None:
    tenant_id = tenant.tenant_id
    agent = make_agent(db, tenant_id, "outreach")
    queued = approve_and_queue(db, tenant_id, targets[3], agent_id=agent, channel="linkedin")
    assert send_row(db, tenant_id, queued.send_id).status == "ready"

    mark_sent(db, tenant_id, queued, resolved_by="user-7")

    send = send_row(db, tenant_id, queued.send_id)
    assert (send.status, send.sent_at, send.resolved_by) == ("sent", SENT_AT, "user-7")
    with db.unit_of_work(tenant_id) as uow:
        contact = uow.session.get(Contact, targets[3].contact_id)
        entry = uow.session.scalars(
            sa.select(ActivityLogEntry).where(
                ActivityLogEntry.entity_id == queued.send_id,
                ActivityLogEntry.action == "message.sent",
            )
        ).one()
        metric = uow.session.scalars(
            sa.select(DailyMetric).where(DailyMetric.agent_id == agent)
        ).one()
    assert contact is not None
    assert (contact.outreach_status, contact.last_contacted_at) == ("contacted", SENT_AT)
    assert (entry.actor_kind, entry.actor_id) == ("user", "user-7")
    assert (metric.day, metric.messages_sent) == (SENT_AT.date(), 1)
    [event] = events_of(owner_db, tenant_id, "message.sent")
    assert event.payload["payload"]["channel"] == "linkedin"
    assert event.payload["payload"]["mailbox"] is None
    assert event.payload["payload"]["resolved_by"] == "user-7"


def test_a_contact_who_already_replied_keeps_that_status(
    db: Database, tenant: CreatedKey, targets: list[SeededTarget]
) -> None:
    tenant_id = tenant.tenant_id
    queued = approve_and_queue(db, tenant_id, targets[4], channel="linkedin")
    with db.unit_of_work(tenant_id) as uow:
        contact = uow.session.get(Contact, targets[4].contact_id)
        assert contact is not None
        contact.outreach_status = "replied"
        uow.commit()

    mark_sent(db, tenant_id, queued, resolved_by="user-7")

    with db.unit_of_work(tenant_id) as uow:
        contact = uow.session.get(Contact, targets[4].contact_id)
    assert contact is not None
    assert (contact.outreach_status, contact.last_contacted_at) == ("replied", SENT_AT)
