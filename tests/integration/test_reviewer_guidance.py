"""Reviewer guidance against real Postgres: summarised from decided approval items, read and
cleared over real HTTP, and sent to the LLM (the sandbox over HTTP) with the agent's drafts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from services.demo.seed import SeededTarget
from shared.db.base import utcnow
from shared.db.database import Database
from shared.db.models import AgentGuidance, ApprovalItem
from shared.guidance import current_guidance, refresh_guidance
from shared.roles import Role
from shared.settings import Settings
from shared.tenancy import CreatedKey, create_api_key, create_tenant
from tests.support.api import auth
from tests.support.approvals import make_pending_item
from tests.support.drafting import (
    DraftingStack,
    drafting_stack,
    drafts_of,
    items_of,
    make_agent,
    outbox_rows,
    run_task,
)
from workers.followup.prompt import FOLLOWUP_PROMPT, followup_instruction
from workers.outreach.prompt import OUTREACH_PROMPT, build_messages, input_hash
from workers.outreach.prompt import outreach_instruction as outreach_instruction_for

pytestmark = pytest.mark.integration

GREETING = "I hope this email finds you well."


@pytest.fixture(scope="module")
def stack(settings: Settings) -> Iterator[DraftingStack]:
    with drafting_stack(settings) as running:
        yield running


def decided_item(
    db: Database,
    tenant: CreatedKey,
    agent_id: str,
    *,
    reason: str | None = None,
    edited: dict[str, Any] | None = None,
    agent_type: str = "outreach",
) -> uuid.UUID:
    """An approval item of ``agent_id`` a reviewer rejected with ``reason`` or edited."""
    item_id = uuid.uuid4()
    with db.unit_of_work(tenant.tenant_id) as uow:
        uow.session.add(
            ApprovalItem(
                id=item_id,
                tenant_id=tenant.tenant_id,
                agent_id=uuid.UUID(agent_id),
                agent_type=agent_type,
                item_type="email_draft" if agent_type == "outreach" else "followup_draft",
                title="Email to Maya Okafor at Northwind Logistics",
                content={"channel": "email", "subject": "Hello", "body": f"Hi Maya, {GREETING}"},
                status="rejected" if reason is not None else "edited",
                rejection_reason=reason,
                edited_content=edited,
                reviewed_at=utcnow(),
            )
        )
        uow.commit()
    return item_id


def an_edit(name: str) -> dict[str, Any]:
    original = {"subject": "Hello", "body": f"Hi {name}, {GREETING} Northwind is hiring."}
    edited = {"subject": "Hello", "body": f"Hi {name}, Northwind is hiring."}
    return {**edited, "original": original, "diff": "", "changed": ["body"]}


def refresh(db: Database, tenant: CreatedKey, agent_id: str, window: int = 20) -> list[str]:
    with db.unit_of_work(tenant.tenant_id) as uow:
        row = refresh_guidance(uow, tenant.tenant_id, uuid.UUID(agent_id), window=window)
        uow.commit()
    return list(row.lines) if row is not None else []


def guidance_events(db: Database, tenant: CreatedKey, agent_id: str) -> list[dict[str, Any]]:
    return [
        payload
        for _, payload in outbox_rows(db, tenant, "agent.guidance_updated")
        if payload["aggregate_id"] == agent_id
    ]


def test_guidance_is_summarised_shown_and_cleared(
    api: httpx.Client, db: Database, tenant: CreatedKey
) -> None:
    agent = make_agent(db, tenant, "outreach", {})
    path, headers = f"/v1/agents/{agent}/guidance", auth(tenant.token)
    assert api.get(path, headers=headers).json()["lines"] == []
    rejected = [decided_item(db, tenant, agent, reason=r) for r in ("too long", "Too long.")]
    edited = decided_item(db, tenant, agent, edited=an_edit("Maya"))

    assert refresh(db, tenant, agent) == ["Reviewers rejected 2 recent drafts as 'Too long'"]
    assert refresh(db, tenant, agent) == ["Reviewers rejected 2 recent drafts as 'Too long'"]
    shown = api.get(path, headers=headers)

    assert shown.status_code == 200, shown.text
    body = shown.json()
    assert body["agent_id"] == agent
    assert body["lines"] == ["Reviewers rejected 2 recent drafts as 'Too long'"]
    assert (body["based_on"]["rejections"], body["based_on"]["edits"]) == (2, 1)
    assert sorted(body["based_on"]["item_ids"]) == sorted(map(str, [*rejected, edited]))
    assert body["updated_at"] is not None
    assert body["cleared_at"] is None
    [event] = guidance_events(db, tenant, agent)
    assert event["payload"]["lines"] == body["lines"]

    cleared = api.delete(path, headers=headers)
    decided_item(db, tenant, agent, edited=an_edit("Tom"))
    refreshed = api.post(f"{path}/refresh", headers=headers)

    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["lines"] == []
    assert cleared.json()["cleared_at"] is not None
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["lines"] == [], "decisions before clearing no longer count"
    assert refreshed.json()["based_on"]["edits"] == 1
    assert refreshed.json()["based_on"]["rejections"] == 0
    assert [e["payload"]["cleared"] for e in guidance_events(db, tenant, agent)] == [False, True]
    with db.unit_of_work(tenant.tenant_id) as uow:
        assert current_guidance(uow, tenant.tenant_id, uuid.UUID(agent)) == []

    decided_item(db, tenant, agent, edited=an_edit("Ann"))
    decided_item(db, tenant, agent, reason="too formal")
    relearned = api.post(f"{path}/refresh", headers=headers).json()

    assert relearned["lines"] == [
        "Reviewers shortened the body by 58% on average in 2 of 2 edits (about 12 to 5 words); "
        "aim for about 5 words",
        "Avoid: 'I hope this email finds you well' (reviewers removed it from 2 drafts)",
        "A reviewer rejected a recent draft as 'too formal'",
    ]
    assert api.get(path, headers=headers).json()["lines"] == relearned["lines"]
    with db.unit_of_work(tenant.tenant_id) as uow:
        assert current_guidance(uow, tenant.tenant_id, uuid.UUID(agent)) == relearned["lines"]


def test_an_agent_with_nothing_to_learn_gets_no_guidance_row(
    db: Database, tenant: CreatedKey
) -> None:
    agent = make_agent(db, tenant, "outreach", {})
    decided_item(db, tenant, agent, reason="wrong contact")
    decided_item(db, tenant, agent, reason="")
    single_reason = refresh(db, tenant, agent)
    other = make_agent(db, tenant, "outreach", {})
    decided_item(db, tenant, other, reason="   ")

    assert single_reason == ["A reviewer rejected a recent draft as 'wrong contact'"]
    assert refresh(db, tenant, other) == []
    with db.unit_of_work(tenant.tenant_id) as uow:
        rows = uow.session.scalars(
            sa.select(AgentGuidance).where(AgentGuidance.agent_id == uuid.UUID(other))
        ).all()
    assert list(rows) == []
    assert guidance_events(db, tenant, other) == []


def test_guidance_of_an_unknown_or_another_tenants_agent_is_not_found(
    api: httpx.Client, db: Database, tenant: CreatedKey
) -> None:
    other_tenant = create_api_key(db, create_tenant(db, "Other Tenant"))
    theirs = make_agent(db, other_tenant, "outreach", {})
    decided_item(db, other_tenant, theirs, reason="too long")
    decided_item(db, other_tenant, theirs, reason="too long")
    refresh(db, other_tenant, theirs)
    headers = auth(tenant.token)

    for agent in (theirs, str(uuid.uuid4())):
        path = f"/v1/agents/{agent}/guidance"
        assert api.get(path, headers=headers).status_code == 404
        assert api.post(f"{path}/refresh", headers=headers).status_code == 404
        assert api.delete(path, headers=headers).status_code == 404
    assert refresh(db, other_tenant, theirs) == [
        "Reviewers rejected 2 recent drafts as 'too long'"
    ], "another tenant's calls changed nothing"


def test_a_viewer_reads_guidance_but_cannot_clear_it(
    api: httpx.Client, db: Database, tenant: CreatedKey
) -> None:
    agent = make_agent(db, tenant, "outreach", {})
    viewer = create_api_key(db, tenant.tenant_id, name="viewer", role=Role.VIEWER)
    path = f"/v1/agents/{agent}/guidance"

    assert api.get(path, headers=auth(viewer.token)).status_code == 200
    assert api.delete(path, headers=auth(viewer.token)).status_code == 403
    assert api.post(f"{path}/refresh", headers=auth(viewer.token)).status_code == 403


def test_an_outreach_draft_is_written_with_its_agents_guidance(
    stack: DraftingStack, db: Database, tenant: CreatedKey, targets: list[SeededTarget]
) -> None:
    agent = make_agent(db, tenant, "outreach", {})
    decided_item(db, tenant, agent, reason="too long")
    decided_item(db, tenant, agent, reason="Too long!")
    lines = refresh(db, tenant, agent)

    task = run_task(
        stack,
        db,
        tenant,
        "outreach",
        "draft_outreach",
        {"contact_id": str(targets[0].contact_id), "agent_id": agent},
    )

    assert task.status == "completed", task.error
    [draft] = drafts_of(db, tenant, task.id)
    [item] = items_of(db, tenant, task.id)
    assert lines == ["Reviewers rejected 2 recent drafts as 'Too long'"]
    assert draft.personalization["reviewer_guidance"] == lines
    assert item.context["reviewer_guidance"] == lines
    assert (draft.status, draft.prompt_version) == ("pending_approval", "outreach-draft/3")
    facts = draft.personalization["context"]
    instruction = outreach_instruction_for(facts)
    model, parameters = draft.model or "", draft.model_parameters
    guided = build_messages(OUTREACH_PROMPT, facts, instruction, guidance=lines)
    plain = build_messages(OUTREACH_PROMPT, facts, instruction)
    assert draft.input_hash == input_hash(OUTREACH_PROMPT, guided, model, parameters)
    assert draft.input_hash != input_hash(OUTREACH_PROMPT, plain, model, parameters)


def test_a_followup_is_written_with_the_followup_agents_guidance(
    stack: DraftingStack, db: Database, tenant: CreatedKey, targets: list[SeededTarget]
) -> None:
    outreach = make_agent(db, tenant, "outreach", {"autoApprove": True})
    followup = make_agent(db, tenant, "followup", {})
    decided_item(db, tenant, followup, reason="Pushy", agent_type="followup")
    decided_item(db, tenant, followup, reason="pushy.", agent_type="followup")
    decided_item(db, tenant, outreach, reason="too long")
    lines = refresh(db, tenant, followup)
    first = run_task(
        stack,
        db,
        tenant,
        "outreach",
        "draft_outreach",
        {"contact_id": str(targets[1].contact_id), "agent_id": outreach},
    )
    [original] = drafts_of(db, tenant, first.id)

    task = run_task(
        stack,
        db,
        tenant,
        "followup",
        "draft_followup",
        {"draft_id": str(original.id), "agent_id": followup},
    )

    assert (first.status, original.status) == ("completed", "approved"), first.error
    assert original.personalization["reviewer_guidance"] == [], "guidance is per agent"
    assert task.status == "completed", task.error
    [draft] = drafts_of(db, tenant, task.id)
    assert lines == ["Reviewers rejected 2 recent drafts as 'pushy'"]
    assert draft.personalization["reviewer_guidance"] == lines
    assert draft.prompt_version == "followup-draft/2"
    facts = draft.personalization["context"]
    guided = build_messages(FOLLOWUP_PROMPT, facts, followup_instruction(facts), guidance=lines)
    assert draft.input_hash == input_hash(
        FOLLOWUP_PROMPT, guided, draft.model or "", draft.model_parameters
    )


def test_rejections_and_edits_through_the_api_rebuild_the_agents_guidance(
    api: httpx.Client, db: Database, tenant: CreatedKey, targets: list[SeededTarget]
) -> None:
    agent = make_agent(db, tenant, "outreach", {})
    headers = auth(tenant.token)
    first, second, third = (
        make_pending_item(db, tenant.tenant_id, target, agent_id=uuid.UUID(agent))
        for target in targets[:3]
    )

    for item_id in (first, second):
        rejected = api.post(
            f"/v1/approvals/{item_id}/reject", json={"reason": "Too pushy"}, headers=headers
        )
        assert rejected.status_code == 200, rejected.text
    after_rejections = api.get(f"/v1/agents/{agent}/guidance", headers=headers).json()
    edited = api.post(
        f"/v1/approvals/{third}/approve", json={"body": "A shorter note."}, headers=headers
    )
    after_edit = api.get(f"/v1/agents/{agent}/guidance", headers=headers).json()

    assert after_rejections["lines"] == ["Reviewers rejected 2 recent drafts as 'Too pushy'"]
    assert edited.status_code == 200, edited.text
    assert (after_edit["based_on"]["rejections"], after_edit["based_on"]["edits"]) == (2, 1)
