"""Inbound replies over real HTTP and Postgres, classified by the follow-up pool through the
sandbox LLM over HTTP: matching, deduplication, stopped follow-ups, and what each category
changes (response metrics, suppression, resumed follow-ups), applied once."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from services.demo.seed import SeededTarget
from shared.agents.daily_metrics import bump_daily_metrics
from shared.db.base import utcnow
from shared.db.database import Database
from shared.db.models import (
    ApprovalItem,
    Contact,
    DailyMetric,
    InboundReply,
    OutboxMessage,
    ProviderUsage,
    SuppressedAddress,
    Task,
)
from shared.replies import ReplyVerdict, apply_classification, lock_reply
from shared.settings import Settings
from shared.tenancy import CreatedKey, create_tenant
from tests.support.api import auth
from tests.support.approvals import make_pending_item
from tests.support.drafting import DraftingStack, drafting_stack, make_agent
from tests.support.replies import SentMessage, run_dispatched_task, run_envelope, sent_message

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(settings: Settings) -> Iterator[DraftingStack]:
    with drafting_stack(settings) as running:
        yield running


def post_reply(api: httpx.Client, tenant: CreatedKey, **body: Any) -> httpx.Response:
    return api.post("/v1/replies", json={"body": "Thanks!", **body}, headers=auth(tenant.token))


def events(db: Database, tenant: CreatedKey, event_type: str) -> list[dict[str, Any]]:
    with db.unit_of_work(tenant.tenant_id) as uow:
        rows = uow.session.scalars(
            sa.select(OutboxMessage.payload).where(
                OutboxMessage.kind == "event", OutboxMessage.destination == event_type
            )
        ).all()
    return list(rows)


def task_row(db: Database, tenant: CreatedKey, task_id: uuid.UUID | str) -> Task:
    with db.unit_of_work(tenant.tenant_id) as uow:
        return uow.session.get_one(Task, uuid.UUID(str(task_id)))


def contact_status(db: Database, tenant: CreatedKey, contact_id: uuid.UUID) -> str:
    with db.unit_of_work(tenant.tenant_id) as uow:
        return uow.session.get_one(Contact, contact_id).outreach_status


def reply_row(db: Database, tenant: CreatedKey, reply_id: str) -> InboundReply:
    with db.unit_of_work(tenant.tenant_id) as uow:
        return uow.session.get_one(InboundReply, uuid.UUID(reply_id))


def suppressions(db: Database, tenant: CreatedKey) -> list[tuple[Any, ...]]:
    with db.unit_of_work(tenant.tenant_id) as uow:
        rows = uow.session.execute(
            sa.select(SuppressedAddress.email, SuppressedAddress.reason, SuppressedAddress.source)
        ).all()
    return [tuple(row) for row in rows]


def responses(db: Database, tenant: CreatedKey) -> list[tuple[Any, ...]]:
    with db.unit_of_work(tenant.tenant_id) as uow:
        rows = uow.session.execute(
            sa.select(
                DailyMetric.agent_type, DailyMetric.responses, DailyMetric.response_time_s_total
            ).where(DailyMetric.responses > 0)
        ).all()
    return [tuple(row) for row in rows]


def followups_of(db: Database, tenant: CreatedKey, parent_id: uuid.UUID) -> list[Task]:
    with db.unit_of_work(tenant.tenant_id) as uow:
        return list(
            uow.session.scalars(
                sa.select(Task).where(
                    Task.parent_task_id == parent_id, Task.task_type == "draft_followup"
                )
            )
        )


@pytest.fixture
def message(db: Database, tenant: CreatedKey, targets: list[SeededTarget]) -> SentMessage:
    """Sent to the first contact three hours ago, its follow-up held for three days."""
    return sent_message(
        db,
        tenant.tenant_id,
        targets[0].contact_id,
        sent_at=utcnow() - timedelta(hours=3),
        followup_in_days=3,
    )


def test_a_reply_to_our_message_id_stops_the_pending_followup(
    api: httpx.Client,
    db: Database,
    tenant: CreatedKey,
    targets: list[SeededTarget],
    message: SentMessage,
) -> None:
    received = utcnow() - timedelta(hours=1)
    response = post_reply(
        api,
        tenant,
        in_reply_to=message.message_id.strip("<>"),
        received_at=received.isoformat(),
        from_address=message.to_address,
    )

    assert response.status_code == 202, response.text
    body = response.json()
    assert (body["contact_id"], body["send_id"], body["draft_id"]) == (
        str(targets[0].contact_id),
        str(message.send_id),
        str(message.draft_id),
    )
    assert body["response_time_s"] == 7200
    assert body["stopped_followup_task_ids"] == [str(message.followup_task_id)]
    assert message.followup_task_id is not None
    stopped = task_row(db, tenant, message.followup_task_id)
    assert (stopped.status, stopped.error) == ("cancelled", "the contact replied")
    [cancelled] = events(db, tenant, "task.cancelled")
    assert cancelled["aggregate_id"] == str(message.followup_task_id)
    assert cancelled["payload"]["reply_id"] == body["id"]
    [received_event] = events(db, tenant, "reply.received")
    assert received_event["payload"]["stopped_followup_task_ids"] == [str(message.followup_task_id)]
    classify = task_row(db, tenant, body["classification_task_id"])
    assert (classify.agent_type, classify.task_type, classify.status) == (
        "followup",
        "classify_reply",
        "pending",
    )
    assert classify.input == {"reply_id": body["id"]}
    assert contact_status(db, tenant, targets[0].contact_id) == "replied"


def test_a_reply_is_matched_by_contact_id_or_by_the_senders_address(
    api: httpx.Client, db: Database, tenant: CreatedKey, targets: list[SeededTarget]
) -> None:
    now = utcnow()
    older = sent_message(
        db, tenant.tenant_id, targets[1].contact_id, sent_at=now - timedelta(days=2)
    )
    latest = sent_message(
        db, tenant.tenant_id, targets[1].contact_id, sent_at=now - timedelta(hours=5)
    )
    other = sent_message(
        db, tenant.tenant_id, targets[2].contact_id, sent_at=now - timedelta(days=1)
    )

    by_contact = post_reply(api, tenant, contact_id=str(targets[1].contact_id), body="Hi there")
    by_address = post_reply(
        api, tenant, from_address=f"Someone <{other.to_address.upper()}>", body="Hello"
    )
    before_any_send = post_reply(
        api,
        tenant,
        contact_id=str(targets[1].contact_id),
        received_at=(now - timedelta(days=3)).isoformat(),
    )

    assert by_contact.status_code == 202, by_contact.text
    assert by_contact.json()["send_id"] == str(latest.send_id) != str(older.send_id)
    assert by_address.status_code == 202, by_address.text
    assert (by_address.json()["contact_id"], by_address.json()["send_id"]) == (
        str(targets[2].contact_id),
        str(other.send_id),
    )
    assert before_any_send.status_code == 202, before_any_send.text
    assert (before_any_send.json()["send_id"], before_any_send.json()["response_time_s"]) == (
        None,
        None,
    )


def test_a_reply_nothing_matches_is_refused(
    api: httpx.Client, db: Database, tenant: CreatedKey, targets: list[SeededTarget]
) -> None:
    stranger = create_tenant(db, "Another Tenant")
    with db.unit_of_work(stranger) as uow:
        foreign = Contact(tenant_id=stranger, first_name="Eve", email="eve@else.example")
        uow.session.add(foreign)
        uow.commit()

    unknown = post_reply(api, tenant, in_reply_to="<nope@x>", from_address="who@nowhere.example")
    nothing = post_reply(api, tenant)
    other_tenants = post_reply(api, tenant, contact_id=str(foreign.id))
    future = post_reply(
        api,
        tenant,
        contact_id=str(targets[0].contact_id),
        received_at=(utcnow() + timedelta(hours=1)).isoformat(),
    )

    assert unknown.status_code == 422
    assert "no sent message or contact matches" in unknown.json()["detail"]
    assert "who@nowhere.example" in unknown.json()["detail"]
    assert nothing.status_code == 422
    assert "names no in_reply_to, contact_id or from_address" in nothing.json()["detail"]
    assert other_tenants.status_code == 422
    assert future.status_code == 422
    assert "future" in future.json()["detail"]
    with db.unit_of_work(tenant.tenant_id) as uow:
        assert uow.session.scalars(sa.select(InboundReply)).all() == []


def test_the_same_reply_posted_twice_is_recorded_once(
    api: httpx.Client, db: Database, tenant: CreatedKey, message: SentMessage
) -> None:
    received = (utcnow() - timedelta(minutes=30)).isoformat()
    by_id = {"in_reply_to": message.message_id, "message_id": "<r-1@them.example>"}
    by_content = {"in_reply_to": message.message_id, "received_at": received, "body": "Call me"}

    first = post_reply(api, tenant, **by_id)
    again = post_reply(api, tenant, **by_id, received_at=received)
    content_first = post_reply(api, tenant, **by_content)
    content_again = post_reply(api, tenant, **by_content)

    assert (first.status_code, again.status_code) == (202, 200)
    assert again.json() == first.json()
    assert (content_first.status_code, content_again.status_code) == (202, 200)
    assert content_again.json()["id"] == content_first.json()["id"] != first.json()["id"]
    with db.unit_of_work(tenant.tenant_id) as uow:
        assert len(uow.session.scalars(sa.select(InboundReply)).all()) == 2
        classify = uow.session.scalars(
            sa.select(Task).where(Task.task_type == "classify_reply")
        ).all()
    assert len(classify) == 2
    assert len(events(db, tenant, "reply.received")) == 2


def classify(
    stack: DraftingStack, db: Database, tenant: CreatedKey, reply: dict[str, Any], times: int = 1
) -> Task:
    task_id = uuid.UUID(reply["classification_task_id"])
    return run_dispatched_task(
        db, stack.settings.broker_url, tenant.tenant_id, task_id, times=times
    )


@pytest.mark.parametrize(
    ("body", "category"),
    [("Sounds good, let's talk on Tuesday.", "interested"), ("Maybe next quarter.", "not_now")],
)
def test_a_response_counts_for_the_sending_agent(
    stack: DraftingStack,
    api: httpx.Client,
    db: Database,
    tenant: CreatedKey,
    targets: list[SeededTarget],
    body: str,
    category: str,
) -> None:
    outreach = uuid.UUID(make_agent(db, tenant, "outreach", {}))
    make_agent(db, tenant, "followup", {})
    sent_at = utcnow() - timedelta(hours=3)
    message = sent_message(
        db, tenant.tenant_id, targets[0].contact_id, sent_at=sent_at, agent_id=outreach
    )
    with db.unit_of_work(tenant.tenant_id) as uow:
        bump_daily_metrics(
            uow,
            tenant_id=tenant.tenant_id,
            agent_id=outreach,
            agent_type="outreach",
            day=sent_at.date(),
            messages_sent=1,
        )
        uow.commit()
    received = sent_at + timedelta(minutes=90)
    reply = post_reply(
        api, tenant, in_reply_to=message.message_id, body=body, received_at=received.isoformat()
    ).json()

    task = classify(stack, db, tenant, reply)

    assert task.status == "completed", task.error
    assert task.output is not None
    assert (task.output["category"], task.output["effects"]) == (
        category,
        {"counted_response": True},
    )
    stored = reply_row(db, tenant, reply["id"])
    assert (stored.category, stored.classified_at is not None) == (category, True)
    assert stored.classification["verdict"]["category"] == category
    assert responses(db, tenant) == [("outreach", 1, 5400)]
    metrics = api.get(f"/v1/agents/{outreach}/metrics", headers=auth(tenant.token)).json()
    assert metrics["summary"]["messages_sent"] == 1
    assert metrics["summary"]["responses_received"] == 1
    assert metrics["summary"]["response_rate"] == 1.0
    assert metrics["summary"]["average_response_time_s"] == 5400.0
    assert [e["payload"]["category"] for e in events(db, tenant, "reply.classified")] == [category]
    assert contact_status(db, tenant, targets[0].contact_id) == "replied"
    with db.unit_of_work(tenant.tenant_id) as uow:
        keys = uow.session.scalars(
            sa.select(ProviderUsage.dedup_key).where(ProviderUsage.task_id == task.id)
        ).all()
    assert keys == [f"{task.id}:classify_reply"]

    second = post_reply(
        api, tenant, in_reply_to=message.message_id, body="Also: Thursday works for a call."
    ).json()
    later = classify(stack, db, tenant, second)

    assert later.output is not None
    assert later.output["effects"] == {"counted_response": False}
    assert responses(db, tenant) == [("outreach", 1, 5400)], "one response per message sent"


def test_an_unsubscribe_suppresses_the_address(
    stack: DraftingStack,
    api: httpx.Client,
    db: Database,
    tenant: CreatedKey,
    targets: list[SeededTarget],
    message: SentMessage,
) -> None:
    reply = post_reply(
        api, tenant, in_reply_to=message.message_id, body="Please remove me from your list."
    ).json()

    task = classify(stack, db, tenant, reply)

    assert task.status == "completed", task.error
    assert suppressions(db, tenant) == [(message.to_address, "unsubscribed", "reply")]
    assert contact_status(db, tenant, targets[0].contact_id) == "unsubscribed"
    assert reply_row(db, tenant, reply["id"]).category == "unsubscribe"
    assert len(events(db, tenant, "contact.suppressed")) == 1


@pytest.mark.parametrize("status", ["550 5.1.1 user unknown", "452 4.2.2 mailbox full"])
def test_a_bounce_suppresses_only_when_hard(
    stack: DraftingStack,
    api: httpx.Client,
    db: Database,
    tenant: CreatedKey,
    targets: list[SeededTarget],
    message: SentMessage,
    status: str,
) -> None:
    reply = post_reply(
        api,
        tenant,
        in_reply_to=message.message_id,
        from_address="MAILER-DAEMON@mx.them.example",
        subject="Undeliverable: A faster month-end close",
        body=f"Delivery has failed to these recipients. Remote server said: {status}",
    ).json()

    task = classify(stack, db, tenant, reply)

    assert task.status == "completed", task.error
    stored = reply_row(db, tenant, reply["id"])
    assert stored.category == "bounce"
    resumed = followups_of(db, tenant, task.id)
    if status.startswith("550"):
        assert stored.classification["verdict"]["bounce_type"] == "hard"
        assert suppressions(db, tenant) == [(message.to_address, "bounced", "reply")]
        assert contact_status(db, tenant, targets[0].contact_id) == "bounced"
        assert resumed == []
    else:
        assert stored.classification["verdict"]["bounce_type"] == "soft"
        assert suppressions(db, tenant) == []
        assert contact_status(db, tenant, targets[0].contact_id) == "contacted"
        assert message.followup_task_id is not None
        original = task_row(db, tenant, message.followup_task_id)
        [again] = resumed
        assert (again.status, again.scheduled_at) == ("pending", original.scheduled_at)
    assert responses(db, tenant) == []


def test_an_out_of_office_reply_resumes_the_followup_after_the_return(
    stack: DraftingStack,
    api: httpx.Client,
    db: Database,
    tenant: CreatedKey,
    targets: list[SeededTarget],
    message: SentMessage,
) -> None:
    back_on = (utcnow() + timedelta(days=10)).date()
    reply = post_reply(
        api,
        tenant,
        in_reply_to=message.message_id,
        subject="Automatic reply: A faster month-end close",
        body=f"I am out of the office until {back_on.isoformat()} with no access to email.",
    ).json()

    task = classify(stack, db, tenant, reply)

    assert task.status == "completed", task.error
    assert message.followup_task_id is not None
    original = task_row(db, tenant, message.followup_task_id)
    [resumed] = followups_of(db, tenant, task.id)
    due = datetime.combine(back_on + timedelta(days=1), time(9), tzinfo=UTC)
    assert (resumed.status, resumed.scheduled_at) == ("pending", due)
    assert resumed.input == original.input
    assert task.output is not None
    assert task.output["effects"]["resumed_followups"] == [str(resumed.id)]
    [scheduled] = events(db, tenant, "followup.scheduled")
    assert scheduled["payload"]["resumes_task_id"] == str(original.id)
    assert contact_status(db, tenant, targets[0].contact_id) == "contacted"
    stored = reply_row(db, tenant, reply["id"])
    assert stored.classification["verdict"]["out_of_office_until"] == back_on.isoformat()
    assert responses(db, tenant) == []
    assert suppressions(db, tenant) == []


def test_a_redelivered_or_repeated_classification_applies_its_effects_once(
    stack: DraftingStack,
    api: httpx.Client,
    db: Database,
    tenant: CreatedKey,
    targets: list[SeededTarget],
) -> None:
    outreach = uuid.UUID(make_agent(db, tenant, "outreach", {}))
    message = sent_message(
        db,
        tenant.tenant_id,
        targets[0].contact_id,
        sent_at=utcnow() - timedelta(hours=2),
        agent_id=outreach,
        followup_in_days=3,
    )
    reply = post_reply(
        api, tenant, in_reply_to=message.message_id, body="Out of office, back December 3."
    ).json()

    task = classify(stack, db, tenant, reply, times=2)
    calls = stack.llm_requests()
    repeat = run_envelope(
        db,
        stack.settings.broker_url,
        tenant.tenant_id,
        {
            "schema_version": 1,
            "task_id": str(uuid.uuid4()),
            "tenant_id": str(tenant.tenant_id),
            "agent_type": "followup",
            "task_type": "classify_reply",
            "priority": "medium",
            "input": {"reply_id": reply["id"]},
        },
    )

    assert (task.status, repeat.status) == ("completed", "completed")
    assert repeat.output is not None
    assert task.output is not None
    assert repeat.output["already_classified"] is True
    assert repeat.output["effects"] == task.output["effects"]
    assert stack.llm_requests() == calls, "a classified reply is not sent to the model again"
    assert len(followups_of(db, tenant, task.id)) == 1
    assert followups_of(db, tenant, repeat.id) == []
    assert len(events(db, tenant, "reply.classified")) == 1
    assert len(events(db, tenant, "followup.scheduled")) == 1


def test_a_classification_applied_twice_changes_nothing_the_second_time(
    api: httpx.Client, db: Database, tenant: CreatedKey, message: SentMessage
) -> None:
    reply = post_reply(api, tenant, in_reply_to=message.message_id, body="Away.").json()
    verdict = ReplyVerdict.from_answer(
        {
            "category": "out_of_office",
            "confidence": 0.8,
            "out_of_office_until": None,
            "bounce_type": None,
            "summary": "Away, no return date.",
        }
    )

    outcomes = []
    for _ in range(2):
        with db.unit_of_work(tenant.tenant_id) as uow:
            task = uow.session.get_one(Task, uuid.UUID(reply["classification_task_id"]))
            locked = lock_reply(uow, tenant.tenant_id, uuid.UUID(reply["id"]))
            assert locked is not None
            outcomes.append(apply_classification(uow, task, locked, verdict))
            uow.commit()

    assert [outcome.already_classified for outcome in outcomes] == [False, True]
    assert outcomes[1].effects == outcomes[0].effects
    assert len(events(db, tenant, "reply.classified")) == 1
    assert message.followup_task_id is not None
    original = task_row(db, tenant, message.followup_task_id)
    [resumed] = followups_of(db, tenant, uuid.UUID(reply["classification_task_id"]))
    assert original.scheduled_at is not None
    assert resumed.scheduled_at == original.scheduled_at + timedelta(days=7)


def test_a_reply_flags_the_contacts_followup_drafts_still_waiting_for_review(
    api: httpx.Client,
    db: Database,
    tenant: CreatedKey,
    targets: list[SeededTarget],
    message: SentMessage,
) -> None:
    waiting = make_pending_item(db, tenant.tenant_id, targets[0], agent_type="followup")
    other_contact = make_pending_item(db, tenant.tenant_id, targets[1], agent_type="followup")

    response = post_reply(api, tenant, in_reply_to=message.message_id, body="Not interested.")
    approve = api.post(f"/v1/approvals/{waiting}/approve", headers=auth(tenant.token))

    assert response.status_code == 202, response.text
    assert approve.status_code == 409
    with db.unit_of_work(tenant.tenant_id) as uow:
        flagged = uow.session.get_one(ApprovalItem, waiting)
        untouched = uow.session.get_one(ApprovalItem, other_contact)
        assert (flagged.stale_reason, untouched.stale_at) == ("the contact replied", None)
