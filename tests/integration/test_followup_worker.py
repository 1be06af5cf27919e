"""The follow-up pool against real RabbitMQ and Postgres, the LLM being the sandbox over HTTP:
follow-up types and escalation, the maximum (each next follow-up scheduled when the one before
is sent), stopping on reply, and the grounding check."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from services.demo.seed import SeededTarget
from shared.db.database import Database
from shared.db.models import Contact, Draft, SuppressedAddress, Task
from shared.domain.approvals import Reviewer, approve_item
from shared.sending.queue import SendRequest
from shared.settings import Settings
from shared.tenancy import CreatedKey
from tests.support.drafting import (
    DraftingStack,
    children_of,
    drafting_stack,
    drafts_of,
    items_of,
    make_agent,
    run_task,
)
from tests.support.sender import make_mailbox, sender_tools
from tests.support.smtp import RecordingSmtpServer
from workers.sender.service import deliver_send

pytestmark = pytest.mark.integration

CONFIG = {"maxFollowups": 3, "escalationAfterAttempts": 2, "defaultFollowupDelayDays": 4}


@pytest.fixture(scope="module")
def stack(settings: Settings) -> Iterator[DraftingStack]:
    with drafting_stack(settings) as running:
        yield running


@pytest.fixture(scope="module")
def smtp() -> Iterator[RecordingSmtpServer]:
    with RecordingSmtpServer() as server:
        yield server


def sent_draft(
    stack: DraftingStack, db: Database, tenant: CreatedKey, target: SeededTarget
) -> Draft:
    """An approved outreach draft to follow up on."""
    task = run_task(
        stack, db, tenant, "outreach", "draft_outreach", {"contact_id": str(target.contact_id)}
    )
    [item] = items_of(db, tenant, task.id)
    with db.unit_of_work(tenant.tenant_id) as uow:
        approve_item(uow, tenant.tenant_id, item.id, Reviewer(key_id=None, user_id=None))
    [draft] = drafts_of(db, tenant, task.id)
    return draft


def followup(
    stack: DraftingStack, db: Database, tenant: CreatedKey, draft: Draft, **extra: Any
) -> Task:
    task_input = {"draft_id": str(draft.id), **extra}
    return run_task(stack, db, tenant, "followup", "draft_followup", task_input)


def send_approved(settings: Settings, db: Database, tenant: CreatedKey, item_id: uuid.UUID) -> None:
    """Approve the item and let the sender deliver its message."""
    with db.unit_of_work(tenant.tenant_id) as uow:
        send = approve_item(
            uow, tenant.tenant_id, item_id, Reviewer(key_id=None, user_id=None)
        ).send
    assert send is not None
    request = SendRequest(tenant.tenant_id, send.id, send.dedup_key)
    deliver_send(db, sender_tools(settings), request)


def test_a_sequence_reminds_then_escalates_and_stops_at_the_maximum(
    stack: DraftingStack,
    settings: Settings,
    db: Database,
    tenant: CreatedKey,
    targets: list[SeededTarget],
    smtp: RecordingSmtpServer,
) -> None:
    make_mailbox(db, settings, tenant.tenant_id, smtp)
    agent = make_agent(db, tenant, "followup", CONFIG)
    original = sent_draft(stack, db, tenant, targets[0])

    kinds = []
    for attempt in (1, 2, 3):
        task = followup(stack, db, tenant, original, attempt=attempt, agent_id=agent)
        assert task.status == "completed", task.error
        [draft] = drafts_of(db, tenant, task.id)
        [item] = items_of(db, tenant, task.id)
        assert (draft.status, item.status, item.item_type) == (
            "pending_approval",
            "pending",
            "followup_draft",
        )
        assert draft.personalization["followup"]["original_draft_id"] == str(original.id)
        kinds.append(task.output["followup_type"])
        assert children_of(db, tenant, task.id) == [], "the next one waits for this one's send"
        send_approved(settings, db, tenant, item.id)
        nexts = children_of(db, tenant, task.id)
        if attempt < 3:
            [held] = nexts
            assert held.input["attempt"] == attempt + 1
            assert held.input["draft_id"] == str(original.id)
            assert (held.status, str(held.agent_id)) == ("pending", agent)
            assert held.scheduled_at is not None
        else:
            assert nexts == [], "no follow-up past maxFollowups"
    past = followup(stack, db, tenant, original, attempt=4, agent_id=agent)

    assert kinds == ["reminder", "escalation", "escalation"]
    assert past.status == "completed"
    assert past.output["draft_id"] is None
    assert "maxFollowups" in past.output["skipped"]
    assert drafts_of(db, tenant, past.id) == []


def test_only_enabled_followup_types_are_written(
    stack: DraftingStack, db: Database, tenant: CreatedKey, targets: list[SeededTarget]
) -> None:
    agent = make_agent(db, tenant, "followup", {**CONFIG, "followupTypes": ["value_add"]})
    original = sent_draft(stack, db, tenant, targets[1])

    task = followup(stack, db, tenant, original, attempt=2, agent_id=agent)

    assert task.status == "completed", task.error
    assert task.output["followup_type"] == "value_add"
    [draft] = drafts_of(db, tenant, task.id)
    assert "One more thought" in draft.body


@pytest.mark.parametrize("how", ["replied", "unsubscribed", "suppressed"])
def test_the_sequence_stops_once_the_contact_replied_or_opted_out(
    stack: DraftingStack,
    db: Database,
    tenant: CreatedKey,
    targets: list[SeededTarget],
    how: str,
) -> None:
    agent = make_agent(db, tenant, "followup", CONFIG)
    original = sent_draft(stack, db, tenant, targets[2])
    with db.unit_of_work(tenant.tenant_id) as uow:
        contact = uow.session.get(Contact, original.contact_id)
        assert contact is not None
        if how == "suppressed":
            uow.session.add(
                SuppressedAddress(
                    id=uuid.uuid4(),
                    tenant_id=tenant.tenant_id,
                    email=str(contact.email).upper(),
                    reason="bounced",
                )
            )
        else:
            contact.outreach_status = how
        uow.commit()

    task = followup(stack, db, tenant, original, attempt=1, agent_id=agent)

    assert task.status == "completed", task.error
    assert task.output["draft_id"] is None
    assert ("suppression" if how == "suppressed" else how) in task.output["skipped"]
    assert drafts_of(db, tenant, task.id) == []
    assert children_of(db, tenant, task.id) == [], "no further follow-up is scheduled"


def test_a_followup_that_invents_a_fact_never_reaches_the_approval_queue(
    stack: DraftingStack, db: Database, tenant: CreatedKey, targets: list[SeededTarget]
) -> None:
    agent = make_agent(db, tenant, "followup", CONFIG)
    original = sent_draft(stack, db, tenant, targets[3])
    stack.queue_faults("invented_fact", "invented_fact")

    failed = followup(stack, db, tenant, original, attempt=1, agent_id=agent)
    stack.queue_faults("invented_fact")
    fixed = followup(stack, db, tenant, original, attempt=1, agent_id=agent)

    assert failed.status == "failed"
    assert "Vandermeer" in (failed.error or "")
    assert items_of(db, tenant, failed.id) == []
    assert children_of(db, tenant, failed.id) == []
    assert fixed.status == "completed", fixed.error
    [draft] = drafts_of(db, tenant, fixed.id)
    assert "Vandermeer" not in draft.body
    assert draft.personalization["grounding"]["attempts"] == 2
