"""Approval items as the agents file them: the records they are about, the versions those were
at (the basis), the agent's expiry, and an auto-approved draft's send queued at once.

The outreach pool runs against real RabbitMQ and Postgres with the sandbox LLM over HTTP.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa

from services.demo.seed import SeededTarget
from shared.apollo import OrganizationSearch
from shared.db.base import utcnow
from shared.db.database import Database
from shared.db.models import Account, Contact, Task
from shared.lifecycles import TaskStatus
from shared.settings import Settings
from shared.tenancy import CreatedKey
from tests.support.api import auth
from tests.support.approvals import item_events, send_dispatches, sends_of
from tests.support.drafting import DraftingStack, drafting_stack, items_of, make_agent, run_task
from workers.lead_source.accounts import ImportedAccount
from workers.lead_source.approval import write_lead_import_item

pytestmark = pytest.mark.integration

PLATFORM_FROM = "agents@fleet.example"


@pytest.fixture(scope="module")
def stack(settings: Settings) -> Iterator[DraftingStack]:
    with drafting_stack(settings.model_copy(update={"mail_from": PLATFORM_FROM})) as running:
        yield running


def outreach(
    stack: DraftingStack,
    db: Database,
    tenant: CreatedKey,
    target: SeededTarget,
    agent_id: str | None = None,
) -> Task:
    task_input = {
        "contact_id": str(target.contact_id),
        "opportunity_id": str(target.opportunity_id),
    }
    if agent_id:
        task_input["agent_id"] = agent_id
    task = run_task(stack, db, tenant, "outreach", "draft_outreach", task_input)
    assert task.status == "completed", task.error
    return task


def hours_from_now(moment: datetime | None) -> float:
    assert moment is not None
    return (moment - utcnow()) / timedelta(hours=1)


def test_an_item_names_its_records_their_versions_and_the_agent_s_expiry(
    stack: DraftingStack,
    api: httpx.Client,
    db: Database,
    tenant: CreatedKey,
    targets: list[SeededTarget],
) -> None:
    target = targets[0]
    agent = make_agent(db, tenant, "outreach", {"approvalExpiryHours": 5})

    task = outreach(stack, db, tenant, target, agent)

    [item] = items_of(db, tenant, task.id)
    with db.unit_of_work(tenant.tenant_id) as uow:
        contact = uow.session.get_one(Contact, target.contact_id)
        account = uow.session.get_one(Account, contact.account_id)
    assert (item.contact_id, item.opportunity_id) == (target.contact_id, target.opportunity_id)
    assert item.account_id == account.id
    assert item.basis == {
        "draft_version": 1,
        "contact_version": contact.version,
        "account_version": account.version,
    }
    assert 4.9 < hours_from_now(item.expires_at) <= 5
    assert item.context["account"]["name"] == target.company
    detail = api.get(f"/v1/approvals/{item.id}", headers=auth(tenant.token)).json()
    assert detail["draft"]["reasoning"]
    assert detail["draft"]["facts_used"]
    assert all(fact["record_id"] for fact in detail["draft"]["facts_used"])
    assert detail["contact"]["name"] == target.contact_name
    assert detail["account"]["id"] == str(account.id)
    assert detail["opportunity"]["id"] == str(target.opportunity_id)
    assert detail["basis"]["changed"] == []


def test_without_an_agent_setting_the_platform_default_applies(
    stack: DraftingStack, db: Database, tenant: CreatedKey, targets: list[SeededTarget]
) -> None:
    task = outreach(stack, db, tenant, targets[1])

    [item] = items_of(db, tenant, task.id)
    default = stack.settings.approval_default_ttl_hours
    assert default - 0.1 < hours_from_now(item.expires_at) <= default


def test_an_auto_approved_draft_has_its_send_queued_with_the_approval(
    stack: DraftingStack,
    db: Database,
    owner_db: Database,
    tenant: CreatedKey,
    targets: list[SeededTarget],
) -> None:
    agent = make_agent(db, tenant, "outreach", {"autoApprove": True})

    task = outreach(stack, db, tenant, targets[2], agent)

    [item] = items_of(db, tenant, task.id)
    [send] = sends_of(db, tenant.tenant_id, item.draft_id)
    assert (item.status, send.status) == ("approved", "queued")
    assert send.dedup_key == f"send:{item.draft_id}"
    assert send.approval_item_id == item.id
    assert send.from_address == PLATFORM_FROM
    assert send.message_id == f"<{item.draft_id}.send@fleet.example>"
    assert send_dispatches(owner_db, item.draft_id) == ["sender"]
    created, approved = item_events(owner_db, item.id)
    assert (created["event_type"], approved["event_type"]) == (
        "approval.created",
        "approval.approved",
    )
    assert approved["payload"]["send_id"] == str(send.id)


def test_a_lead_import_item_expires_after_the_agent_s_hours(
    db: Database, tenant: CreatedKey, targets: list[SeededTarget]
) -> None:
    agent = uuid.UUID(make_agent(db, tenant, "lead_source", {"approvalExpiryHours": 2}))
    with db.unit_of_work(tenant.tenant_id) as uow:
        account = uow.session.scalars(sa.select(Account).limit(1)).one()
        task = Task(
            id=uuid.uuid4(),
            tenant_id=tenant.tenant_id,
            agent_id=agent,
            agent_type="lead_source",
            task_type="source_leads",
            status=TaskStatus.IN_PROGRESS,
            input={},
        )
        uow.session.add(task)
        uow.session.flush()
        item = write_lead_import_item(
            uow,
            task,
            agent_id=agent,
            accounts=[ImportedAccount(account.id, account.domain or "", account.name, False)],
            query=OrganizationSearch(),
            counts={"imported": 1},
            pipeline=None,
            ttl_hours=72,
        )
        uow.commit()

    assert 1.9 < hours_from_now(item.expires_at) <= 2
    assert (item.contact_id, item.account_id, item.basis) == (None, None, {})


@pytest.mark.parametrize("hours", [0, 721, "soon"])
def test_an_agent_s_expiry_must_be_one_hour_to_thirty_days(
    api: httpx.Client, tenant: CreatedKey, hours: object
) -> None:
    response = api.post(
        "/v1/agents",
        json={"agent_type": "outreach", "name": "x", "config": {"approvalExpiryHours": hours}},
        headers=auth(tenant.token),
    )

    assert response.status_code == 422
    assert "approvalExpiryHours" in response.text
