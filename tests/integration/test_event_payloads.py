"""Every event the code writes to the outbox matches its schema: the events of a whole embedded
demo run, and those of the task, approval, sending, reply, follow-up, budget and agent
lifecycles driven through the domain functions against Postgres (and the agent pools over
RabbitMQ). Each event is checked against its schema file and against the AsyncAPI document's
copy of it. The README's publish example is run against RabbitMQ and its message checked."""

from __future__ import annotations

import ast
import dataclasses
import json
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pika
import pytest
import sqlalchemy as sa
from jsonschema import Draft7Validator

from services.demo.run import run_demo
from services.demo.seed import SeededTarget
from shared.agent_types import AgentType
from shared.agents.service import AgentChanges, delete_agent, update_agent
from shared.apollo import OrganizationSearch
from shared.broker.topology import declare_agent_queue
from shared.contract.asyncapi import build_asyncapi
from shared.contract.event_channel import event_schema_component
from shared.contract.event_schemas import event_problems
from shared.contract.task_messages import task_message_schema
from shared.contract.validation import component_validator
from shared.db.base import utcnow
from shared.db.database import Database, open_database
from shared.db.models import MessageSend, OutboxMessage, SuppressionReason, Task, UsageOutcome
from shared.db.unit_of_work import UnitOfWork
from shared.domain.approval_edits import ContentEdit
from shared.domain.approval_refresh import refresh_item
from shared.domain.approvals import Reviewer, approve_item, reject_item
from shared.domain.task_replay import ReplayOutcome, replay_dead_letter
from shared.domain.tasks import (
    TaskSubmission,
    cancel_task,
    ensure_task,
    envelope_for,
    fail_task,
    hold_task,
    lock_task,
    start_task,
    submit_task,
)
from shared.envelope import TaskEnvelope, parse_envelope
from shared.events import EventType
from shared.guidance import clear_guidance
from shared.lifecycles import AgentStatus, TaskTrigger
from shared.replies import (
    IncomingReply,
    ReplyVerdict,
    apply_classification,
    lock_reply,
    record_reply,
)
from shared.sending.queue import SendRequest
from shared.sending.send_review import confirm_outcome, mark_sent, retry_send
from shared.sending.suppression import suppress_address
from shared.settings import Settings
from shared.tenancy import CreatedKey
from shared.usage import BudgetExceeded, ProviderCall, ensure_within_budget, record_provider_call
from tests.support.api import auth
from tests.support.approvals import make_pending_item, run_sql
from tests.support.drafting import (
    DraftingStack,
    children_of,
    drafting_stack,
    items_of,
    make_agent,
    run_task,
)
from tests.support.replies import sent_message
from tests.support.sender import (
    approve_and_queue,
    make_mailbox,
    send_row,
    sender_tools,
    set_send_state,
)
from tests.support.smtp import RecordingSmtpServer
from workers.lead_source.accounts import ImportedAccount
from workers.lead_source.approval import write_lead_import_item
from workers.scheduler.held import dispatch_due_sends, expire_approvals
from workers.sender.service import deliver_send
from workers.sender.settlements import defer, fail, mark_outcome_unknown, suppress

pytestmark = pytest.mark.integration

README = Path(__file__).resolve().parents[2] / "README.md"

DEMO_TYPES = {
    "agent.updated",
    "task.queued",
    "task.started",
    "task.completed",
    "draft.created",
    "approval.created",
    "approval.approved",
    "approval.edited",
    "approval.rejected",
    "message.queued",
    "message.sent",
    "reply.received",
    "reply.classified",
}
FOLLOWUP_TYPES = {
    "agent.updated",
    "task.queued",
    "task.started",
    "task.completed",
    "draft.created",
    "approval.created",
    "approval.approved",
    "message.queued",
    "message.sent",
    "followup.scheduled",
}
TASK_LIFECYCLE_TYPES = {
    "task.queued",
    "task.started",
    "task.deferred",
    "task.failed",
    "task.cancelled",
}
APPROVAL_TYPES = {
    "approval.created",
    "approval.approved",
    "approval.rejected",
    "approval.edited",
    "approval.expired",
    "approval.refreshed",
    "agent.guidance_updated",
    "message.queued",
}
SEND_TYPES = {
    "message.queued",
    "message.deferred",
    "message.failed",
    "message.outcome_unknown",
    "message.suppressed",
    "message.sent",
    "contact.suppressed",
}
REPLY_TYPES = {
    "reply.received",
    "reply.classified",
    "task.cancelled",
    "task.queued",
    "followup.scheduled",
    "contact.suppressed",
}
TENANT_TYPES = {"usage.budget_exceeded", "agent.updated"}
SCENARIOS = (
    DEMO_TYPES,
    FOLLOWUP_TYPES,
    TASK_LIFECYCLE_TYPES,
    APPROVAL_TYPES,
    SEND_TYPES,
    REPLY_TYPES,
    TENANT_TYPES,
)


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return build_asyncapi()


@pytest.fixture
def stack(settings: Settings) -> Iterator[DraftingStack]:
    """The outreach and follow-up pools, stopped after the test (the README test below takes
    its message off the outreach queue itself)."""
    with drafting_stack(settings) as running:
        yield running


@pytest.fixture
def reviewer(tenant: CreatedKey) -> Reviewer:
    return Reviewer(key_id=tenant.key_id, user_id=None)


def conforming_types(document: dict[str, Any], events: list[dict[str, Any]]) -> set[str]:
    """The types of ``events``, after checking each against its schema file and against the
    AsyncAPI document's copy; fails naming every event that does not conform."""
    validators = {
        event_type.value: component_validator(document, event_schema_component(event_type))
        for event_type in EventType
    }
    problems: dict[str, list[str]] = {}
    for event in events:
        found = event_problems(event)
        validator: Draft7Validator | None = validators.get(event["event_type"])
        if validator is not None:
            found += [f"asyncapi: {error.message}" for error in validator.iter_errors(event)]
        if found:
            problems[f"{event['event_type']} {event['payload']}"] = found
    assert problems == {}
    return {event["event_type"] for event in events}


def tenant_events(db: Database, tenant_id: uuid.UUID) -> list[dict[str, Any]]:
    with db.unit_of_work(tenant_id) as uow:
        rows = uow.session.scalars(
            sa.select(OutboxMessage.payload)
            .where(OutboxMessage.tenant_id == tenant_id, OutboxMessage.kind == "event")
            .order_by(OutboxMessage.created_at, OutboxMessage.payload["occurred_at"].as_string())
        ).all()
    return list(rows)


def test_the_scenarios_below_cover_every_event_type() -> None:
    assert set().union(*SCENARIOS) == {event_type.value for event_type in EventType}


def test_every_event_of_an_embedded_demo_run_conforms(
    tmp_path: Path, document: dict[str, Any]
) -> None:
    assert run_demo(workdir=str(tmp_path)) == 0
    database = open_database(f"sqlite:///{tmp_path / 'agentfleet.db'}")
    try:
        with database.unit_of_work(None) as uow:
            events = list(
                uow.session.scalars(
                    sa.select(OutboxMessage.payload).where(OutboxMessage.kind == "event")
                )
            )
    finally:
        database.dispose()

    assert conforming_types(document, events) >= DEMO_TYPES


def test_a_followup_sequence_writes_conforming_events(
    stack: DraftingStack,
    settings: Settings,
    db: Database,
    tenant: CreatedKey,
    targets: list[SeededTarget],
    reviewer: Reviewer,
    document: dict[str, Any],
) -> None:
    with RecordingSmtpServer() as smtp:
        make_mailbox(db, settings, tenant.tenant_id, smtp)
        outreach = make_agent(db, tenant, "outreach", {"notifyFollowupAgent": True})
        make_agent(db, tenant, "followup", {"maxFollowups": 1, "escalationAfterAttempts": 1})
        task = run_task(
            stack,
            db,
            tenant,
            "outreach",
            "draft_outreach",
            {"contact_id": str(targets[0].contact_id), "agent_id": outreach},
        )
        assert task.status == "completed", task.error
        [item] = items_of(db, tenant, task.id)
        with db.unit_of_work(tenant.tenant_id) as uow:
            send = approve_item(uow, tenant.tenant_id, item.id, reviewer).send
        assert send is not None
        request = SendRequest(tenant.tenant_id, send.id, send.dedup_key)
        deliver_send(db, sender_tools(settings), request)
        [held] = children_of(db, tenant, task.id)

        drafted = run_task(stack, db, tenant, "followup", "draft_followup", held.input)
        past = run_task(
            stack, db, tenant, "followup", "draft_followup", {**held.input, "attempt": 2}
        )

    assert (drafted.status, past.status) == ("completed", "completed")
    assert drafted.output is not None
    assert past.output is not None
    assert drafted.output["followup_type"] == "escalation"
    assert past.output["draft_id"] is None
    assert conforming_types(document, tenant_events(db, tenant.tenant_id)) >= FOLLOWUP_TYPES


def test_task_lifecycle_events_conform(
    db: Database, tenant: CreatedKey, targets: list[SeededTarget], document: dict[str, Any]
) -> None:
    tenant_id = tenant.tenant_id
    submission = TaskSubmission(
        agent_type=AgentType.OUTREACH,
        task_type="draft_outreach",
        input={"contact_id": str(targets[0].contact_id)},
        trace_id=uuid.uuid4().hex,
    )
    with db.unit_of_work(tenant_id) as uow:
        failing, _ = submit_task(uow, tenant_id, submission)
    with db.unit_of_work(tenant_id) as uow:
        task = lock_task(uow, tenant_id, failing.id)
        assert task is not None
        assert start_task(uow, task)
        hold_task(uow, task, utcnow() + timedelta(hours=1), "the agent's hourly limit (5) is used")
        uow.commit()
    with db.unit_of_work(tenant_id) as uow:
        task = lock_task(uow, tenant_id, failing.id)
        assert task is not None
        assert start_task(uow, task)
        fail_task(uow, task, "invalid message: input.agent_id names no agent of this tenant")
        uow.commit()
    with db.unit_of_work(tenant_id) as uow:
        task = lock_task(uow, tenant_id, failing.id)
        assert task is not None
        assert replay_dead_letter(uow, envelope_for(task)).outcome is ReplayOutcome.RESET
        uow.commit()
    with db.unit_of_work(tenant_id) as uow:
        cancelled, _ = submit_task(uow, tenant_id, dataclasses.replace(submission, trace_id=None))
    with db.unit_of_work(tenant_id) as uow:
        cancel_task(uow, tenant_id, cancelled.id)
    published = TaskEnvelope(
        task_id=uuid.uuid4(),
        tenant_id=tenant_id,
        agent_type=AgentType.FOLLOWUP,
        task_type="classify_reply",
        input={"reply_id": str(uuid.uuid4())},
    )
    with db.unit_of_work(tenant_id) as uow:
        assert ensure_task(uow, published, trigger=TaskTrigger.API) is not None
        uow.commit()

    events = tenant_events(db, tenant_id)
    assert conforming_types(document, events) >= TASK_LIFECYCLE_TYPES
    history = [e for e in events if e["aggregate_id"] == str(failing.id)]
    assert [e["event_type"] for e in history] == [
        "task.queued",
        "task.started",
        "task.deferred",
        "task.started",
        "task.failed",
        "task.queued",
    ]
    assert history[-1]["payload"]["replayed"].startswith("invalid message:")


def test_approval_events_conform(
    db: Database,
    tenant: CreatedKey,
    targets: list[SeededTarget],
    reviewer: Reviewer,
    document: dict[str, Any],
) -> None:
    tenant_id = tenant.tenant_id
    agent = uuid.UUID(make_agent(db, tenant, "outreach", {}))
    rejected, edited, expiring, stale = (
        make_pending_item(db, tenant_id, target, agent_id=agent) for target in targets[:4]
    )
    with db.unit_of_work(tenant_id) as uow:
        reject_item(uow, tenant_id, rejected, reviewer, "Too generic: name their event")
    with db.unit_of_work(tenant_id) as uow:
        approve_item(uow, tenant_id, edited, reviewer, edit=ContentEdit(body="Hi, see you there?"))
    run_sql(
        db,
        tenant_id,
        "UPDATE approval_items SET expires_at = now() - interval '1 hour' WHERE id = :id",
        id=expiring,
    )
    with db.unit_of_work(tenant_id) as uow:
        assert expire_approvals(uow, tenant_id, utcnow(), limit=10) == 1
    run_sql(
        db,
        tenant_id,
        "UPDATE contacts SET title = 'Chief Supply Chain Officer', version = version + 1 "
        "WHERE id = :id",
        id=targets[3].contact_id,
    )
    with db.unit_of_work(tenant_id) as uow:
        refresh_item(uow, tenant_id, stale, reviewer)
    with db.unit_of_work(tenant_id) as uow:
        clear_guidance(uow, tenant_id, agent)
        uow.commit()
    lead_import = _lead_import_item(db, tenant_id)
    with db.unit_of_work(tenant_id) as uow:
        approve_item(uow, tenant_id, lead_import, reviewer)

    events = tenant_events(db, tenant_id)
    assert conforming_types(document, events) >= APPROVAL_TYPES
    about_import = [e for e in events if e["aggregate_id"] == str(lead_import)]
    assert [(e["event_type"], e["payload"]["draft_id"]) for e in about_import] == [
        ("approval.created", None),
        ("approval.approved", None),
    ]


def _lead_import_item(db: Database, tenant_id: uuid.UUID) -> uuid.UUID:
    """A lead_source run's item asking to import two accounts, as the agent files it."""
    submission = TaskSubmission(
        agent_type=AgentType.LEAD_SOURCE, task_type="source_leads", input={"per_page": 10}
    )
    with db.unit_of_work(tenant_id) as uow:
        task, _ = submit_task(uow, tenant_id, submission)
    accounts = [
        ImportedAccount(uuid.uuid4(), f"{name.lower()}.example", name, created=True)
        for name in ("Northwind", "Brightleaf")
    ]
    with db.unit_of_work(tenant_id) as uow:
        item = write_lead_import_item(
            uow,
            uow.session.get_one(Task, task.id),
            agent_id=None,
            accounts=accounts,
            query=OrganizationSearch(per_page=10),
            counts={"imported": 2, "created": 2},
            pipeline=None,
            ttl_hours=72,
        )
        uow.commit()
        return item.id


def test_send_events_conform(
    db: Database,
    settings: Settings,
    tenant: CreatedKey,
    targets: list[SeededTarget],
    reviewer: Reviewer,
    document: dict[str, Any],
) -> None:
    tenant_id = tenant.tenant_id
    deferred, failed, unknown, waiting = (
        approve_and_queue(db, tenant_id, target, platform_from="sales@agentfleet.example")
        for target in targets[:4]
    )
    linkedin = approve_and_queue(db, tenant_id, targets[4], channel="linkedin")
    later = utcnow() + timedelta(hours=1)
    with db.unit_of_work(tenant_id) as uow:
        defer(uow, _locked(uow, deferred.send_id), until=later, reason="daily cap of 30 reached")
        fail(uow, _locked(uow, failed.send_id), "550 5.1.1 mailbox unavailable")
        uow.commit()
    with db.unit_of_work(tenant_id) as uow:
        assert dispatch_due_sends(uow, tenant_id, later + timedelta(minutes=1), limit=10) == 1
    with db.unit_of_work(tenant_id) as uow:
        retry_send(uow, tenant_id, failed.send_id, reviewer)
        uow.commit()
    set_send_state(
        db, tenant_id, unknown.send_id, status="sending", phase="transmitting", attempts=1
    )
    with db.unit_of_work(tenant_id) as uow:
        mark_outcome_unknown(uow, _locked(uow, unknown.send_id), "connection lost after DATA")
        uow.commit()
    with db.unit_of_work(tenant_id) as uow:
        confirm_outcome(uow, tenant_id, unknown.send_id, reviewer, delivered=True)
        mark_sent(uow, tenant_id, linkedin.send_id, reviewer)
        uow.commit()
    with db.unit_of_work(tenant_id) as uow:
        suppress(uow, _locked(uow, deferred.send_id), "the contact answered the sequence")
        address = send_row(db, tenant_id, waiting.send_id).to_address
        assert address is not None
        assert suppress_address(uow, tenant_id, address, SuppressionReason.MANUAL, "manual")
        uow.commit()

    assert conforming_types(document, tenant_events(db, tenant_id)) >= SEND_TYPES


def _locked(uow: UnitOfWork, send_id: uuid.UUID) -> MessageSend:
    return uow.session.get_one(MessageSend, send_id, with_for_update=True, populate_existing=True)


def test_reply_events_conform(
    db: Database, tenant: CreatedKey, targets: list[SeededTarget], document: dict[str, Any]
) -> None:
    tenant_id = tenant.tenant_id
    back_on = (utcnow() + timedelta(days=10)).date()
    verdicts: dict[int, dict[str, Any]] = {
        0: {"category": "out_of_office", "out_of_office_until": back_on.isoformat()},
        1: {"category": "unsubscribe", "out_of_office_until": None},
    }
    for index, verdict in verdicts.items():
        message = sent_message(
            db,
            tenant_id,
            targets[index].contact_id,
            sent_at=utcnow() - timedelta(hours=3),
            followup_in_days=3,
        )
        with db.unit_of_work(tenant_id) as uow:
            reply = record_reply(
                uow,
                tenant_id,
                IncomingReply(
                    body="Thanks for reaching out.",
                    received_at=utcnow(),
                    in_reply_to=message.message_id,
                    trace_id=uuid.uuid4().hex,
                ),
            ).reply
            uow.commit()
            reply_id, task_id = reply.id, reply.task_id
        with db.unit_of_work(tenant_id) as uow:
            task = uow.session.get_one(Task, task_id)
            locked = lock_reply(uow, tenant_id, reply_id)
            assert locked is not None
            answer = {**verdict, "confidence": 0.9, "bounce_type": None, "summary": "Auto reply."}
            apply_classification(uow, task, locked, ReplyVerdict.from_answer(answer))
            uow.commit()

    assert conforming_types(document, tenant_events(db, tenant_id)) >= REPLY_TYPES


def test_budget_and_agent_events_conform(
    api: httpx.Client,
    db: Database,
    settings: Settings,
    tenant: CreatedKey,
    document: dict[str, Any],
) -> None:
    tenant_id = tenant.tenant_id
    budget = api.put(
        "/v1/usage/budget", json={"monthly_budget_usd": "0.001"}, headers=auth(tenant.token)
    )
    assert budget.status_code == 200, budget.text
    call = ProviderCall("openai", "gpt-4.1-mini", "chat.completions", UsageOutcome.OK, 2_000, 500)
    with db.unit_of_work(tenant_id) as uow:
        record_provider_call(uow, settings, call, tenant_id=tenant_id)
        uow.commit()
    with pytest.raises(BudgetExceeded):
        ensure_within_budget(db, tenant_id)
    agent = uuid.UUID(make_agent(db, tenant, "outreach", {"messageTone": "friendly"}))
    with db.unit_of_work(tenant_id) as uow:
        update_agent(
            uow,
            tenant_id,
            agent,
            AgentChanges(
                name="Outreach (EMEA)",
                status=AgentStatus.PAUSED,
                enabled=False,
                config={"messageTone": "casual"},
            ),
        )
        uow.commit()
    with db.unit_of_work(tenant_id) as uow:
        delete_agent(uow, tenant_id, agent)
        uow.commit()

    events = tenant_events(db, tenant_id)
    assert conforming_types(document, events) >= TENANT_TYPES
    actions = [e["payload"]["action"] for e in events if e["event_type"] == "agent.updated"]
    assert actions == ["created", "updated", "deleted"]


def _readme_publish_example() -> str:
    section = README.read_text().split("<!-- publish-example:start -->", 1)[1]
    match = re.search(
        r"```python\n(.*?)```", section.split("<!-- publish-example:end -->")[0], re.S
    )
    assert match, "README has no publish example"
    code = match.group(1)
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(ast.parse(code))
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    assert imported <= {"json", "os", "time", "uuid", "pika"}, imported
    return code


def test_the_readme_publish_example_sends_a_message_the_contract_describes(
    settings: Settings,
    tenant: CreatedKey,
    targets: list[SeededTarget],
    document: dict[str, Any],
    tmp_path: Path,
) -> None:
    """Run as another service would, against this run's vhost, then taken off the queue."""
    connection = pika.BlockingConnection(pika.URLParameters(settings.broker_url))
    try:
        channel = connection.channel()
        declare_agent_queue(channel, "outreach", settings.broker_max_priority)
        channel.queue_purge("outreach")
        script = tmp_path / "publish_task.py"
        script.write_text(_readme_publish_example())
        published = subprocess.run(
            [sys.executable, "-I", str(script)],
            env={
                "AMQP_URL": settings.broker_url,
                "TENANT_ID": str(tenant.tenant_id),
                "CONTACT_ID": str(targets[0].contact_id),
                "PATH": "/usr/bin:/bin",
            },
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert published.returncode == 0, published.stderr
        method, properties, body = channel.basic_get("outreach", auto_ack=True)
    finally:
        connection.close()

    assert method is not None, "the example's message did not reach the queue"
    message = json.loads(body)
    validator = component_validator(document, task_message_schema("draft_outreach"))
    assert [e.message for e in validator.iter_errors(message)] == []
    envelope = parse_envelope(message["args"][0])
    assert (envelope.tenant_id, properties.priority) == (tenant.tenant_id, 3)
    assert published.stdout.strip() == f"published task {envelope.task_id}"
