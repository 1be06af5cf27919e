"""The lead_source pool against real RabbitMQ, Postgres and Redis, Apollo being the sandbox
over HTTP: accounts from the ICP, the approval gate and the hand-off to enrichment."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from shared.agent_types import AgentType
from shared.apollo import Organization
from shared.credentials import credential_cipher, set_credential
from shared.db.database import Database
from shared.db.models import (
    Account,
    ActivityLogEntry,
    AgentMessage,
    ApprovalItem,
    Provider,
    ProviderUsage,
    Task,
)
from shared.domain.tasks import cancel_task
from shared.lifecycles import TaskStatus
from shared.settings import Settings
from shared.tenancy import CreatedKey
from tests.support.agent_runs import (
    apollo_sandbox,
    events_of,
    make_agent,
    publish,
    running_pool,
    task_outbox,
)
from tests.support.agent_tasks import envelope, wait_for_task
from tests.support.api import auth
from workers.lead_source.accounts import found_organizations, import_accounts
from workers.lead_source.actor import declare_lead_source_actor

pytestmark = pytest.mark.integration

ICP = {
    "industries": ["computer software"],
    "employeeRanges": ["51,200"],
    "locations": ["Germany"],
    "technologies": ["Salesforce"],
    "maxPagesPerRun": 2,
}


@pytest.fixture(scope="module")
def sandbox(settings: Settings) -> Iterator[tuple[Settings, str]]:
    with apollo_sandbox(settings) as found:
        yield found


@pytest.fixture(scope="module")
def worker(sandbox: tuple[Settings, str]) -> Iterator[None]:
    with running_pool(declare_lead_source_actor, sandbox[0]):
        yield


def _source(tenant_id: uuid.UUID, **task_input: Any) -> dict[str, Any]:
    return envelope(tenant_id, "lead_source", "source_leads", {"per_page": 10, **task_input})


def _accounts(db: Database, tenant_id: uuid.UUID) -> list[Account]:
    with db.unit_of_work(tenant_id) as uow:
        return list(uow.session.scalars(sa.select(Account).where(Account.tenant_id == tenant_id)))


def _children(db: Database, tenant_id: uuid.UUID, parent_id: uuid.UUID) -> list[Task]:
    with db.unit_of_work(tenant_id) as uow:
        return list(
            uow.session.scalars(
                sa.select(Task).where(Task.tenant_id == tenant_id, Task.parent_task_id == parent_id)
            )
        )


def _messages(db: Database, tenant_id: uuid.UUID) -> list[AgentMessage]:
    with db.unit_of_work(tenant_id) as uow:
        return list(
            uow.session.scalars(sa.select(AgentMessage).where(AgentMessage.tenant_id == tenant_id))
        )


def _usage(db: Database, tenant_id: uuid.UUID, task_id: uuid.UUID) -> list[ProviderUsage]:
    with db.unit_of_work(tenant_id) as uow:
        return list(
            uow.session.scalars(
                sa.select(ProviderUsage).where(
                    ProviderUsage.tenant_id == tenant_id, ProviderUsage.task_id == task_id
                )
            )
        )


def test_a_run_imports_the_icps_accounts_and_waits_for_approval_before_the_pipeline(
    worker: None,
    settings: Settings,
    db: Database,
    owner_db: Database,
    tenant: CreatedKey,
    api: httpx.Client,
) -> None:
    tenant_id = tenant.tenant_id
    agent_id = make_agent(db, tenant_id, "lead_source", {**ICP, "approvalRequired": True})
    message = _source(tenant_id, agent_id=str(agent_id), run_pipeline=True, contacts_per_account=3)

    publish(settings, message)
    task = wait_for_task(db, tenant_id, message["task_id"])

    assert task.status == "completed", task.error
    accounts = _accounts(db, tenant_id)
    assert len(accounts) == 20, "two pages of ten"
    assert len({a.domain for a in accounts}) == 20
    assert all(a.external_ids.get("apollo") and a.industry for a in accounts)
    assert (task.items_processed, task.items_succeeded, task.items_failed) == (20, 20, 0)
    assert task.output is not None
    assert sorted(task.output["account_ids"]) == sorted(str(a.id) for a in accounts)
    assert task.output["credits"] == 2
    usage = _usage(db, tenant_id, task.id)
    assert sorted(u.dedup_key or "" for u in usage) == [
        f"{task.id}:search:page:1",
        f"{task.id}:search:page:2",
    ]
    assert sum(u.credits for u in usage) == 2
    assert all(u.cost_usd > 0 for u in usage)
    with db.unit_of_work(tenant_id) as uow:
        item = uow.session.scalars(
            sa.select(ApprovalItem).where(ApprovalItem.task_id == task.id)
        ).one()
        actions = uow.session.scalars(
            sa.select(ActivityLogEntry.action).where(ActivityLogEntry.task_id == task.id)
        ).all()
    assert item.item_type == "lead_import"
    assert item.status == "pending"
    assert item.agent_id == agent_id
    assert "20 accounts" in item.title
    assert {a["account_id"] for a in item.content["accounts"]} == {str(a.id) for a in accounts}
    assert item.context["pipeline"]["run_id"] == str(task.id)
    assert item.context["pipeline"]["contacts_per_account"] == 3
    assert item.context["icp"]["organization_locations"] == ["Germany"]
    created = events_of(owner_db, tenant_id, "approval.created")
    assert [e.payload["aggregate_id"] for e in created] == [str(item.id)]
    assert actions.count("account.imported") == 20
    assert "lead_import.requested" in actions
    assert _children(db, tenant_id, task.id) == [], "nothing is handed on before approval"

    enrichment_agent = make_agent(db, tenant_id, "enrichment")
    approved = api.post(f"/v1/approvals/{item.id}/approve", headers=auth(tenant.token))

    assert approved.status_code == 200, approved.text
    children = _children(db, tenant_id, task.id)
    assert len(children) == 20
    assert {c.input["account_id"] for c in children} == {str(a.id) for a in accounts}
    assert {(c.agent_type, c.task_type, c.status) for c in children} == {
        ("enrichment", "enrich_account", "pending")
    }
    assert {c.agent_id for c in children} == {enrichment_agent}
    assert all(c.input["pipeline"]["run_id"] == str(task.id) for c in children)
    dispatched = task_outbox(owner_db, tenant_id)
    assert sorted(str(o.payload["task_id"]) for o in dispatched) == sorted(
        str(c.id) for c in children
    )
    assert {o.destination for o in dispatched} == {"enrichment"}
    assert len(_messages(db, tenant_id)) == 20


def test_without_approval_each_account_is_handed_on_once_even_when_delivered_twice(
    worker: None, settings: Settings, db: Database, owner_db: Database, tenant: CreatedKey
) -> None:
    tenant_id = tenant.tenant_id
    agent_id = make_agent(db, tenant_id, "lead_source", {**ICP, "approvalRequired": False})
    enrichment_agent = make_agent(db, tenant_id, "enrichment")
    message = _source(
        tenant_id,
        agent_id=str(agent_id),
        run_pipeline=True,
        max_pages=1,
        pipeline_agents={"enrichment": str(enrichment_agent)},
    )

    publish(settings, message, times=2)
    task = wait_for_task(db, tenant_id, message["task_id"])
    publish(settings, message)
    wait_for_task(db, tenant_id, message["task_id"])
    time.sleep(1.0)  # let the repeat deliveries finish too

    assert task.status == "completed", task.error
    accounts = _accounts(db, tenant_id)
    assert len(accounts) == 10
    children = _children(db, tenant_id, task.id)
    assert len(children) == 10
    assert {c.agent_id for c in children} == {enrichment_agent}
    spec = children[0].input["pipeline"]
    assert spec["run_id"] == str(task.id)
    assert spec["agents"] == {"enrichment": str(enrichment_agent)}
    assert children[0].input["agent_id"] == str(enrichment_agent)
    assert len(task_outbox(owner_db, tenant_id)) == 10
    messages = _messages(db, tenant_id)
    assert len(messages) == 10
    assert {(m.from_agent_id, m.to_agent_id) for m in messages} == {(agent_id, enrichment_agent)}
    assert {m.task_id for m in messages} == {c.id for c in children}
    assert len(_usage(db, tenant_id, task.id)) == 1
    with db.unit_of_work(tenant_id) as uow:
        approvals = uow.session.scalar(
            sa.select(sa.func.count()).where(ApprovalItem.tenant_id == tenant_id)
        )
    assert approvals == 0
    with db.unit_of_work(tenant_id) as uow:
        again = uow.session.get(Task, task.id)
    assert again is not None
    assert again.output == task.output


def test_a_second_run_refreshes_the_accounts_it_already_imported(
    worker: None, settings: Settings, db: Database, tenant: CreatedKey
) -> None:
    tenant_id = tenant.tenant_id
    agent_id = make_agent(db, tenant_id, "lead_source", {**ICP, "approvalRequired": False})
    first, second = (_source(tenant_id, agent_id=str(agent_id), max_pages=1) for _ in range(2))

    publish(settings, first)
    wait_for_task(db, tenant_id, first["task_id"])
    publish(settings, second)
    task = wait_for_task(db, tenant_id, second["task_id"])

    assert task.status == "completed", task.error
    assert len(_accounts(db, tenant_id)) == 10
    assert task.output is not None
    assert (task.output["imported"], task.output["created"]) == (10, 0)
    assert task.items_succeeded == 10


def test_organizations_without_a_domain_or_seen_twice_are_not_imported_twice(
    db: Database, tenant: CreatedKey
) -> None:
    tenant_id = tenant.tenant_id
    with db.unit_of_work(tenant_id) as uow:
        uow.session.add(
            Account(tenant_id=tenant_id, name="Acme (CRM)", domain="ACME.com", industry=None)
        )
        task = Task(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            agent_type="lead_source",
            task_type="source_leads",
            status=TaskStatus.IN_PROGRESS,
            input={},
        )
        uow.session.add(task)
        uow.commit()
    found = found_organizations(
        [
            Organization(id="a", name="Acme", primary_domain="acme.com", industry="software"),
            Organization(id="b", name="Nameless"),
            Organization(id="c", name="Acme again", website_url="https://www.acme.com"),
            Organization(id="d", name="Globex", primary_domain="globex.com"),
        ]
    )

    with db.unit_of_work(tenant_id) as uow:
        imported = import_accounts(uow, task, found)
        uow.commit()

    assert [(i.domain, i.created) for i in imported] == [("acme.com", False), ("globex.com", True)]
    accounts = {a.domain: a for a in _accounts(db, tenant_id)}
    assert set(accounts) == {"ACME.com", "globex.com"}
    assert accounts["ACME.com"].name == "Acme (CRM)", "the tenant's own data is kept"
    assert accounts["ACME.com"].industry == "software", "gaps are filled"
    assert accounts["ACME.com"].external_ids == {"apollo": "a"}
    assert found.seen == 3


def test_a_run_cancelled_while_searching_writes_nothing_but_billing(
    worker: None,
    settings: Settings,
    db: Database,
    tenant: CreatedKey,
    sandbox: tuple[Settings, str],
) -> None:
    tenant_id = tenant.tenant_id
    agent_id = make_agent(db, tenant_id, "lead_source", {**ICP, "approvalRequired": False})
    message = _source(tenant_id, agent_id=str(agent_id), run_pipeline=True)
    root = sandbox[1]
    httpx.post(f"{root}/_sandbox/scenario", json={"latency_ms": 1500}).raise_for_status()
    try:
        publish(settings, message)
        wait_for_task(db, tenant_id, message["task_id"], statuses=("in_progress",))
        with db.unit_of_work(tenant_id) as uow:
            cancel_task(uow, tenant_id, uuid.UUID(message["task_id"]))
        billed: list[ProviderUsage] = []
        for _ in range(100):
            billed = _usage(db, tenant_id, uuid.UUID(message["task_id"]))
            if len(billed) == 2:
                break
            time.sleep(0.1)
    finally:
        httpx.post(f"{root}/_sandbox/scenario", json={"latency_ms": 0}).raise_for_status()

    task = wait_for_task(db, tenant_id, message["task_id"])
    assert task.status == "cancelled"
    assert len(billed) == 2, "the pages were paid for"
    assert _accounts(db, tenant_id) == []
    assert _children(db, tenant_id, task.id) == []


def test_a_key_apollo_refuses_fails_the_task_at_once(
    worker: None, settings: Settings, db: Database, tenant: CreatedKey
) -> None:
    tenant_id = tenant.tenant_id
    with db.unit_of_work(tenant_id) as uow:
        set_credential(
            uow, credential_cipher(settings), tenant_id, Provider.APOLLO, "invalid-apollo-key"
        )
        uow.commit()
    message = _source(tenant_id)

    publish(settings, message)
    task = wait_for_task(db, tenant_id, message["task_id"])

    assert task.status == "failed"
    assert task.attempts == 1, "a refused key is not retried"
    assert "apollo" in (task.error or "")
    assert "401" in (task.error or "")
    assert "invalid-apollo-key" not in (task.error or "")
    assert _accounts(db, tenant_id) == []
    assert AgentType.LEAD_SOURCE.value == task.agent_type
