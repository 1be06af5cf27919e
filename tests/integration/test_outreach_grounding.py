"""Outreach drafts checked against their context, and the outreach agent's config honoured.

Real RabbitMQ and Postgres; the LLM is the sandbox over HTTP, told to spoil answers with
``next_faults`` (an invented fact, a placeholder, a body over the word limit).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from services.demo.seed import SeededTarget
from services.sandbox.spoilers import INVENTED_FACT
from shared.db.base import utcnow
from shared.db.database import Database
from shared.db.models import Account, AgentMessage, Contact, Task
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
    outbox_rows,
    run_task,
    usage_keys,
)
from tests.support.sender import make_mailbox, send_row, sender_tools
from tests.support.smtp import RecordingSmtpServer
from workers.outreach.prompt import (
    OUTREACH_PROMPT,
    build_messages,
    input_hash,
    outreach_instruction,
)
from workers.sender.service import deliver_send

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def stack(settings: Settings) -> Iterator[DraftingStack]:
    with drafting_stack(settings) as running:
        yield running


def outreach(
    stack: DraftingStack, db: Database, tenant: CreatedKey, target: SeededTarget, **extra: Any
) -> Task:
    task_input = {"contact_id": str(target.contact_id), **extra}
    return run_task(stack, db, tenant, "outreach", "draft_outreach", task_input)


def test_an_invented_fact_is_caught_and_the_draft_regenerated_clean(
    stack: DraftingStack, db: Database, tenant: CreatedKey, targets: list[SeededTarget]
) -> None:
    stack.queue_faults("invented_fact")

    task = outreach(stack, db, tenant, targets[0])

    assert task.status == "completed", task.error
    [draft] = drafts_of(db, tenant, task.id)
    [item] = items_of(db, tenant, task.id)
    assert (draft.status, item.status) == ("pending_approval", "pending")
    assert "Vandermeer" not in draft.body
    assert INVENTED_FACT["source"] not in {f["source"] for f in draft.personalization["facts_used"]}
    grounding = draft.personalization["grounding"]
    assert grounding["passed"]
    assert grounding["attempts"] == 2
    assert any("Vandermeer" in p for p in grounding["rejected_attempt_problems"])
    assert usage_keys(db, tenant, task.id) == [f"{task.id}:draft", f"{task.id}:draft:regenerate"]


def test_a_draft_inventing_facts_twice_never_reaches_the_approval_queue(
    stack: DraftingStack, db: Database, tenant: CreatedKey, targets: list[SeededTarget]
) -> None:
    stack.queue_faults("invented_fact", "invented_fact")

    task = outreach(stack, db, tenant, targets[1])

    assert task.status == "failed"
    assert "grounding check" in (task.error or "")
    assert "account.recent_contracts" in (task.error or "")
    assert "Vandermeer" in (task.error or "")
    assert items_of(db, tenant, task.id) == []
    [draft] = drafts_of(db, tenant, task.id)
    assert draft.status == "draft", "kept for audit with its problems, never pending approval"
    assert draft.personalization["grounding"]["problems"]
    assert len(usage_keys(db, tenant, task.id)) == 2


@pytest.mark.parametrize(
    ("fault", "problem"),
    [("placeholder", "placeholder '[First Name]'"), ("too_long", "over the limit of 150")],
)
def test_placeholders_and_overlong_drafts_are_regenerated_or_refused(
    stack: DraftingStack,
    db: Database,
    tenant: CreatedKey,
    targets: list[SeededTarget],
    fault: str,
    problem: str,
) -> None:
    stack.queue_faults(fault)
    fixed = outreach(stack, db, tenant, targets[2])
    stack.queue_faults(fault, fault)
    refused = outreach(stack, db, tenant, targets[3])

    assert fixed.status == "completed", fixed.error
    [draft] = drafts_of(db, tenant, fixed.id)
    assert "[" not in draft.body
    assert len(draft.body.split()) <= 150
    assert refused.status == "failed"
    assert problem in (refused.error or "")
    assert items_of(db, tenant, refused.id) == []


def test_tone_comes_from_the_task_else_from_the_agent(
    stack: DraftingStack, db: Database, tenant: CreatedKey, targets: list[SeededTarget]
) -> None:
    agent = make_agent(db, tenant, "outreach", {"messageTone": "casual"})

    by_agent = outreach(stack, db, tenant, targets[0], agent_id=agent)
    by_task = outreach(stack, db, tenant, targets[1], agent_id=agent, tone="friendly")

    [casual] = drafts_of(db, tenant, by_agent.id)
    [friendly] = drafts_of(db, tenant, by_task.id)
    assert casual.personalization["context"]["tone"] == "casual"
    assert casual.body.startswith("Hey ")
    assert friendly.personalization["context"]["tone"] == "friendly"
    assert friendly.body.startswith("Hi ")


def test_without_event_context_the_event_stays_out_of_the_prompt(
    stack: DraftingStack, db: Database, tenant: CreatedKey, targets: list[SeededTarget]
) -> None:
    agent = make_agent(db, tenant, "outreach", {"includeEventContext": False})
    target = targets[0]

    task = outreach(stack, db, tenant, target, agent_id=agent)

    [draft] = drafts_of(db, tenant, task.id)
    context = draft.personalization["context"]
    messages = build_messages(OUTREACH_PROMPT, context, outreach_instruction(context))
    assert input_hash(OUTREACH_PROMPT, messages, draft.model or "", draft.model_parameters) == (
        draft.input_hash
    ), "the stored context and parameters reproduce the prompt exactly"
    assert "opportunity" not in context
    assert "SupplyChain Live" not in messages[1].content
    assert "SupplyChain Live" not in draft.body
    assert draft.opportunity_id is None


def test_account_intelligence_is_cited_with_its_record_and_origin(
    stack: DraftingStack, db: Database, tenant: CreatedKey, targets: list[SeededTarget]
) -> None:
    target = targets[0]
    with db.unit_of_work(tenant.tenant_id) as uow:
        contact = uow.session.get(Contact, target.contact_id)
        assert contact is not None
        account = uow.session.get(Account, contact.account_id)
        assert account is not None
        account.enrichment = {
            "news": [{"title": "Opens a hub in Antwerp", "url": "https://news.example/antwerp"}]
        }
        uow.commit()
    without = make_agent(db, tenant, "outreach", {"includeAccountIntelligence": False})

    with_intel = outreach(stack, db, tenant, target)
    without_intel = outreach(stack, db, tenant, target, agent_id=without)

    [draft] = drafts_of(db, tenant, with_intel.id)
    [plain] = drafts_of(db, tenant, without_intel.id)
    assert draft.personalization["context"]["account"]["intelligence"] == [
        {"fact": "Opens a hub in Antwerp", "kind": "news", "source": "https://news.example/antwerp"}
    ]
    assert "intelligence" not in plain.personalization["context"]["account"]
    cited = {f["source"]: f for f in draft.personalization["facts_used"]}
    assert cited["contact.first_name"]["record_id"] == str(target.contact_id)
    assert cited["contact.first_name"]["record_type"] == "contact"
    assert all("record_id" in fact for fact in cited.values()), cited


def test_auto_approve_stores_the_draft_approved_by_the_system(
    stack: DraftingStack, db: Database, tenant: CreatedKey, targets: list[SeededTarget]
) -> None:
    agent = make_agent(db, tenant, "outreach", {"autoApprove": True})

    task = outreach(stack, db, tenant, targets[4], agent_id=agent)

    assert task.status == "completed", task.error
    [draft] = drafts_of(db, tenant, task.id)
    [item] = items_of(db, tenant, task.id)
    assert draft.status == "approved"
    assert item.status == "approved"
    assert item.reviewed_at is not None
    assert (item.reviewer_user_id, item.reviewer_key_id) == (None, None)
    approved = [p for _, p in outbox_rows(db, tenant, "approval.approved")]
    mine = [p for p in approved if p["aggregate_id"] == str(item.id)]
    assert len(mine) == 1
    assert mine[0]["payload"]["auto_approved"] is True
    assert mine[0]["payload"]["reviewer"] == "system"


def test_notify_followup_agent_holds_a_followup_task_from_the_send_on(
    stack: DraftingStack,
    settings: Settings,
    db: Database,
    tenant: CreatedKey,
    targets: list[SeededTarget],
) -> None:
    followup_agent = make_agent(db, tenant, "followup", {})
    agent = make_agent(
        db, tenant, "outreach", {"notifyFollowupAgent": True, "defaultFollowupDelayDays": 2}
    )

    task = outreach(stack, db, tenant, targets[5], agent_id=agent)

    assert task.status == "completed", task.error
    assert "followup_task_id" not in task.output
    assert children_of(db, tenant, task.id) == [], "a draft that is never sent schedules nothing"
    [draft] = drafts_of(db, tenant, task.id)
    [item] = items_of(db, tenant, task.id)
    with RecordingSmtpServer() as smtp:
        make_mailbox(db, settings, tenant.tenant_id, smtp)
        with db.unit_of_work(tenant.tenant_id) as uow:
            send = approve_item(
                uow, tenant.tenant_id, item.id, Reviewer(key_id=None, user_id=None)
            ).send
        assert send is not None
        deliver_send(
            db, sender_tools(settings), SendRequest(tenant.tenant_id, send.id, send.dedup_key)
        )
        assert smtp.count == 1
    [held] = children_of(db, tenant, task.id)
    assert (held.agent_type, held.task_type, held.status) == (
        "followup",
        "draft_followup",
        "pending",
    )
    assert str(held.agent_id) == followup_agent
    assert held.input == {
        "draft_id": str(draft.id),
        "attempt": 1,
        "agent_id": followup_agent,
        "max_words": 120,
    }
    sent_at = send_row(db, tenant.tenant_id, send.id).sent_at
    assert sent_at is not None
    assert held.scheduled_at == sent_at + timedelta(days=2)
    assert held.scheduled_at - utcnow() > timedelta(days=1, hours=23)
    assert not [k for k, _ in outbox_rows(db, tenant, "followup") if str(held.id) in k]
    scheduled = [p for _, p in outbox_rows(db, tenant, "followup.scheduled")]
    assert [p["payload"]["draft_id"] for p in scheduled if p["aggregate_id"] == str(held.id)] == [
        str(draft.id)
    ]
    with db.unit_of_work(tenant.tenant_id) as uow:
        message = uow.session.scalars(
            sa.select(AgentMessage).where(AgentMessage.task_id == held.id)
        ).one()
    assert message.message_type == "notification"
    assert str(message.to_agent_id) == followup_agent
