"""Send endpoints: the ready and outcome-unknown queues people work through, each action one
locked transition with its events written in the same transaction."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from shared.db.database import Database
from shared.db.models import (
    ApprovalItem,
    Contact,
    Draft,
    MessageSend,
    OutboxMessage,
    SendPhase,
    Task,
)
from shared.lifecycles import SendStatus, TaskStatus
from shared.roles import Role
from shared.sending.queue import SENDER_QUEUE, queue_send
from shared.tenancy import CreatedKey, create_api_key, create_tenant
from tests.support.api import auth

pytestmark = pytest.mark.integration

PLATFORM_FROM = "outreach@agentfleet.test"


def add_contact(db: Database, tenant_id: uuid.UUID, email: str | None) -> uuid.UUID:
    contact_id = uuid.uuid4()
    with db.unit_of_work(tenant_id) as uow:
        uow.session.add(
            Contact(id=contact_id, tenant_id=tenant_id, first_name="Robin", email=email)
        )
        uow.commit()
    return contact_id


def approved_send(
    db: Database, tenant_id: uuid.UUID, contact_id: uuid.UUID, *, channel: str = "email"
) -> MessageSend:
    """An approved draft to the contact and its send, queued the way an approval queues it."""
    task_id, draft_id = uuid.uuid4(), uuid.uuid4()
    with db.unit_of_work(tenant_id) as uow:
        uow.session.add(
            Task(
                id=task_id,
                tenant_id=tenant_id,
                agent_type="outreach",
                task_type="draft_outreach",
                status=TaskStatus.COMPLETED,
                input={"contact_id": str(contact_id)},
            )
        )
        uow.session.flush()
        draft = Draft(
            id=draft_id,
            tenant_id=tenant_id,
            task_id=task_id,
            step="draft",
            contact_id=contact_id,
            channel=channel,
            subject="Quick question" if channel == "email" else None,
            body="Hi Robin, worth a short call?",
            status="approved",
        )
        uow.session.add(draft)
        uow.session.flush()
        item = ApprovalItem(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            agent_type="outreach",
            task_id=task_id,
            draft_id=draft_id,
            contact_id=contact_id,
            item_type="email_draft" if channel == "email" else "linkedin_draft",
            title="Message to Robin",
            status="approved",
            content={"body": draft.body},
        )
        uow.session.add(item)
        uow.session.flush()
        send = queue_send(uow, draft, item, platform_from=PLATFORM_FROM)
        uow.commit()
    return send


def events_about(owner_db: Database, aggregate_id: uuid.UUID) -> list[str]:
    with owner_db.unit_of_work() as uow:
        rows = uow.session.scalars(
            sa.select(OutboxMessage)
            .where(
                OutboxMessage.kind == "event",
                OutboxMessage.payload["aggregate_id"].as_string() == str(aggregate_id),
            )
            .order_by(OutboxMessage.created_at, OutboxMessage.id)
        ).all()
        return [row.destination for row in rows]


def sender_dispatches(owner_db: Database, send_id: uuid.UUID) -> list[str]:
    with owner_db.unit_of_work() as uow:
        return sorted(
            uow.session.scalars(
                sa.select(OutboxMessage.dedup_key).where(
                    OutboxMessage.destination == SENDER_QUEUE,
                    OutboxMessage.payload["send_id"].as_string() == str(send_id),
                )
            ).all()
        )


def set_status(db: Database, tenant_id: uuid.UUID, send_id: uuid.UUID, **values: Any) -> None:
    with db.unit_of_work(tenant_id) as uow:
        uow.session.execute(
            sa.update(MessageSend).where(MessageSend.id == send_id).values(**values)
        )
        uow.commit()


def row(db: Database, tenant_id: uuid.UUID, send_id: uuid.UUID) -> tuple[MessageSend, Draft]:
    with db.unit_of_work(tenant_id) as uow:
        send = uow.session.get(MessageSend, send_id)
        assert send is not None
        draft = uow.session.get(Draft, send.draft_id)
        assert draft is not None
        return send, draft


def test_sends_are_listed_newest_first_and_filtered(
    api: httpx.Client, tenant: CreatedKey, db: Database
) -> None:
    email_contact = add_contact(db, tenant.tenant_id, "ana@buyer.example")
    linkedin_contact = add_contact(db, tenant.tenant_id, "ben@buyer.example")
    no_address = add_contact(db, tenant.tenant_id, None)
    queued = approved_send(db, tenant.tenant_id, email_contact)
    ready = approved_send(db, tenant.tenant_id, linkedin_contact, channel="linkedin")
    failed = approved_send(db, tenant.tenant_id, no_address)
    headers = auth(tenant.token)

    everything = api.get("/v1/sends", headers=headers).json()
    by_status = api.get("/v1/sends", params={"status": "ready"}, headers=headers).json()
    by_channel = api.get("/v1/sends", params={"channel": "email"}, headers=headers).json()
    by_contact = api.get(
        "/v1/sends", params={"contact_id": str(email_contact)}, headers=headers
    ).json()
    paged = api.get("/v1/sends", params={"limit": 1, "offset": 1}, headers=headers).json()
    bad_status = api.get("/v1/sends", params={"status": "lost"}, headers=headers)

    assert everything["total"] == 3
    assert [s["id"] for s in everything["items"]] == [str(failed.id), str(ready.id), str(queued.id)]
    assert {s["status"] for s in everything["items"]} == {"queued", "ready", "failed"}
    assert [s["id"] for s in by_status["items"]] == [str(ready.id)]
    assert {s["id"] for s in by_channel["items"]} == {str(queued.id), str(failed.id)}
    assert [s["id"] for s in by_contact["items"]] == [str(queued.id)]
    assert paged["total"] == 3
    assert [s["id"] for s in paged["items"]] == [str(ready.id)]
    assert bad_status.status_code == 422


def test_a_send_is_shown_with_its_message(
    api: httpx.Client, tenant: CreatedKey, db: Database
) -> None:
    send = approved_send(
        db, tenant.tenant_id, add_contact(db, tenant.tenant_id, "Cy@Buyer.example")
    )

    detail = api.get(f"/v1/sends/{send.id}", headers=auth(tenant.token))

    assert detail.status_code == 200, detail.text
    body = detail.json()
    assert body["subject"] == "Quick question"
    assert body["body"] == "Hi Robin, worth a short call?"
    assert body["to_address"] == "cy@buyer.example"
    assert body["from_address"] == PLATFORM_FROM
    assert body["message_id"] == f"<{send.draft_id}.send@agentfleet.test>"
    assert body["status"] == "queued"
    assert body["attempts"] == 0
    assert body["draft_status"] == "approved"
    assert api.get(f"/v1/sends/{uuid.uuid4()}", headers=auth(tenant.token)).status_code == 404


def test_a_ready_linkedin_send_is_marked_sent_once(
    api: httpx.Client, tenant: CreatedKey, db: Database, owner_db: Database
) -> None:
    send = approved_send(
        db,
        tenant.tenant_id,
        add_contact(db, tenant.tenant_id, "dee@buyer.example"),
        channel="linkedin",
    )
    headers = auth(tenant.token)

    marked = api.post(f"/v1/sends/{send.id}/mark-sent", headers=headers)
    again = api.post(f"/v1/sends/{send.id}/mark-sent", headers=headers)

    assert send.status == "ready"
    assert marked.status_code == 200, marked.text
    assert marked.json()["status"] == "sent"
    assert again.status_code == 409
    stored, draft = row(db, tenant.tenant_id, send.id)
    assert stored.status == "sent"
    assert stored.sent_at is not None
    assert stored.resolved_by == str(tenant.key_id)
    assert draft.status == "sent"
    assert events_about(owner_db, send.id).count("message.sent") == 1
    assert sender_dispatches(owner_db, send.id) == []


def test_only_a_ready_send_can_be_marked_sent(
    api: httpx.Client, tenant: CreatedKey, db: Database, owner_db: Database
) -> None:
    send = approved_send(
        db, tenant.tenant_id, add_contact(db, tenant.tenant_id, "eve@buyer.example")
    )

    refused = api.post(f"/v1/sends/{send.id}/mark-sent", headers=auth(tenant.token))

    assert refused.status_code == 409
    assert "queued" in refused.json()["detail"]
    assert row(db, tenant.tenant_id, send.id)[0].status == "queued"
    assert "message.sent" not in events_about(owner_db, send.id)


def test_concurrent_clicks_make_one_transition(
    api_url: str, tenant: CreatedKey, db: Database, owner_db: Database
) -> None:
    send = approved_send(
        db,
        tenant.tenant_id,
        add_contact(db, tenant.tenant_id, "fay@buyer.example"),
        channel="linkedin",
    )

    def click(_: int) -> int:
        with httpx.Client(base_url=api_url, timeout=30) as client:
            url = f"/v1/sends/{send.id}/mark-sent"
            return client.post(url, headers=auth(tenant.token)).status_code

    with ThreadPoolExecutor(max_workers=2) as pool:
        codes = sorted(pool.map(click, range(2)))

    assert codes == [200, 409]
    assert events_about(owner_db, send.id).count("message.sent") == 1


def test_an_outcome_unknown_send_confirmed_delivered_is_sent(
    api: httpx.Client, tenant: CreatedKey, db: Database, owner_db: Database
) -> None:
    send = approved_send(
        db, tenant.tenant_id, add_contact(db, tenant.tenant_id, "gus@buyer.example")
    )
    set_status(
        db,
        tenant.tenant_id,
        send.id,
        status=SendStatus.OUTCOME_UNKNOWN.value,
        phase=SendPhase.TRANSMITTING.value,
        attempts=1,
    )
    headers = auth(tenant.token)

    confirmed = api.post(
        f"/v1/sends/{send.id}/confirm",
        json={"delivered": True, "note": "found it in Sent"},
        headers=headers,
    )
    again = api.post(f"/v1/sends/{send.id}/confirm", json={"delivered": False}, headers=headers)

    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "sent"
    assert again.status_code == 409
    stored, draft = row(db, tenant.tenant_id, send.id)
    assert stored.status == "sent"
    assert stored.resolved_by == str(tenant.key_id)
    assert draft.status == "sent"
    assert events_about(owner_db, send.id).count("message.sent") == 1
    assert sender_dispatches(owner_db, send.id) == [f"send:{send.draft_id}"]


def test_an_outcome_unknown_send_confirmed_lost_is_queued_again(
    api: httpx.Client, tenant: CreatedKey, db: Database, owner_db: Database
) -> None:
    send = approved_send(
        db, tenant.tenant_id, add_contact(db, tenant.tenant_id, "hal@buyer.example")
    )
    set_status(
        db,
        tenant.tenant_id,
        send.id,
        status=SendStatus.OUTCOME_UNKNOWN.value,
        phase=SendPhase.TRANSMITTING.value,
        attempts=2,
    )

    confirmed = api.post(
        f"/v1/sends/{send.id}/confirm", json={"delivered": False}, headers=auth(tenant.token)
    )
    missing_field = api.post(f"/v1/sends/{send.id}/confirm", json={}, headers=auth(tenant.token))

    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "queued"
    assert missing_field.status_code == 422
    stored, draft = row(db, tenant.tenant_id, send.id)
    assert stored.status == "queued"
    assert stored.phase is None
    assert draft.status == "approved"
    assert sender_dispatches(owner_db, send.id) == sorted(
        [f"send:{send.draft_id}", f"send:{send.draft_id}:requeue:2"]
    )
    assert events_about(owner_db, send.id) == ["message.queued", "message.queued"]


def test_a_failed_send_is_retried_once_the_contact_has_an_address(
    api: httpx.Client, tenant: CreatedKey, db: Database, owner_db: Database
) -> None:
    contact_id = add_contact(db, tenant.tenant_id, None)
    send = approved_send(db, tenant.tenant_id, contact_id)
    headers = auth(tenant.token)

    without_address = api.post(f"/v1/sends/{send.id}/retry", headers=headers)
    with db.unit_of_work(tenant.tenant_id) as uow:
        contact = uow.session.get(Contact, contact_id)
        assert contact is not None
        contact.email = "Ivy@Buyer.example"
        uow.commit()
    retried = api.post(f"/v1/sends/{send.id}/retry", headers=headers)
    again = api.post(f"/v1/sends/{send.id}/retry", headers=headers)

    assert send.status == "failed"
    assert without_address.status_code == 409
    assert retried.status_code == 200, retried.text
    assert retried.json()["status"] == "queued"
    assert retried.json()["to_address"] == "ivy@buyer.example"
    assert again.status_code == 409
    assert sender_dispatches(owner_db, send.id) == [f"send:{send.draft_id}:requeue:0"]
    assert events_about(owner_db, send.id) == ["message.failed", "message.queued"]


def test_a_send_retried_twice_without_an_attempt_between_is_dispatched_twice(
    api: httpx.Client, tenant: CreatedKey, db: Database, owner_db: Database
) -> None:
    send = approved_send(
        db, tenant.tenant_id, add_contact(db, tenant.tenant_id, "kai@buyer.example")
    )
    set_status(db, tenant.tenant_id, send.id, status=SendStatus.FAILED.value)
    headers = auth(tenant.token)

    first = api.post(f"/v1/sends/{send.id}/retry", headers=headers)
    # Failed again before any delivery attempt (e.g. no usable mailbox): attempts stayed 0.
    set_status(db, tenant.tenant_id, send.id, status=SendStatus.FAILED.value)
    second = api.post(f"/v1/sends/{send.id}/retry", headers=headers)

    assert (first.status_code, second.status_code) == (200, 200)
    dispatches = sender_dispatches(owner_db, send.id)
    assert len(dispatches) == 3
    assert len(set(dispatches)) == 3
    assert f"send:{send.draft_id}:requeue:0" in dispatches


def test_a_viewer_reads_but_cannot_act_and_other_tenants_see_nothing(
    api: httpx.Client, tenant: CreatedKey, db: Database
) -> None:
    send = approved_send(
        db,
        tenant.tenant_id,
        add_contact(db, tenant.tenant_id, "jo@buyer.example"),
        channel="linkedin",
    )
    viewer = create_api_key(db, tenant.tenant_id, name="viewer", role=Role.VIEWER)
    stranger = create_api_key(db, create_tenant(db, "Stranger Inc"))

    listed = api.get("/v1/sends", headers=auth(viewer.token))
    denied = api.post(f"/v1/sends/{send.id}/mark-sent", headers=auth(viewer.token))
    foreign_list = api.get("/v1/sends", headers=auth(stranger.token)).json()
    foreign_read = api.get(f"/v1/sends/{send.id}", headers=auth(stranger.token))
    foreign_mark = api.post(f"/v1/sends/{send.id}/mark-sent", headers=auth(stranger.token))

    assert listed.status_code == 200
    assert denied.status_code == 403
    assert foreign_list["total"] == 0
    assert foreign_read.status_code == 404
    assert foreign_mark.status_code == 404
    assert row(db, tenant.tenant_id, send.id)[0].status == "ready"
