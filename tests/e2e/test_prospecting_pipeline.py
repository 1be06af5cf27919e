"""One prospecting run through all six worker pools, each its own ``dramatiq`` process.

ICP → lead_source (Apollo search) → enrichment → contact_finder → scoring → outreach drafts
awaiting approval; every hand-off is a task written with the step that caused it and
published by the relay.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from shared.agent_types import AgentType
from shared.db.database import Database
from shared.db.models import Account, AgentMessage, ApprovalItem, Contact, Draft, Task
from shared.settings import Settings
from shared.tenancy import CreatedKey
from tests.e2e.conftest import Stack, consumers_on
from tests.support.api import auth
from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e

OTHER_POOLS = [t.value for t in AgentType if t is not AgentType.OUTREACH]
AGENT_CONFIGS: dict[str, dict[str, Any]] = {
    "lead_source": {
        "industries": ["computer software"],
        "locations": ["United States"],
        "approvalRequired": False,
        "maxPagesPerRun": 1,
    },
    "enrichment": {},
    "contact_finder": {"seniorities": ["vp", "director", "c_suite"], "maxContactsPerAccount": 3},
    "scoring": {"minRelevanceScore": 0.0, "maxOpportunitiesPerDay": 100},
    "outreach": {"messageTone": "friendly"},
}


def _create_agents(api: httpx.Client) -> dict[str, str]:
    ids = {}
    for agent_type, config in AGENT_CONFIGS.items():
        created = api.post(
            "/v1/agents",
            json={"agent_type": agent_type, "name": f"{agent_type} pipeline", "config": config},
        )
        assert created.status_code == 201, created.text
        ids[agent_type] = created.json()["id"]
    return ids


def _tasks(db: Database, tenant_id: uuid.UUID) -> list[Task]:
    with db.unit_of_work(tenant_id) as uow:
        return list(uow.session.scalars(sa.select(Task).where(Task.tenant_id == tenant_id)))


def _wait_quiet(db: Database, tenant_id: uuid.UUID, timeout_s: float) -> list[Task]:
    """Tasks once every one has finished and no new one appeared for a while."""
    deadline = time.monotonic() + timeout_s
    seen, quiet_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        tasks = _tasks(db, tenant_id)
        busy = [t for t in tasks if t.status in ("pending", "in_progress")]
        if len(tasks) != seen or busy:
            seen, quiet_since = len(tasks), time.monotonic()
        elif time.monotonic() - quiet_since > 3:
            return tasks
        time.sleep(0.5)
    pending = {(t.agent_type, t.status) for t in _tasks(db, tenant_id) if t.status != "completed"}
    raise AssertionError(f"the run did not settle: {pending}")


def test_one_run_from_an_icp_ends_in_drafts_for_the_top_contacts(
    stack: Stack, settings: Settings, tenant: CreatedKey, db: Database
) -> None:
    for pool in OTHER_POOLS:
        stack.start_worker(pool, queue=pool)
    for pool in OTHER_POOLS:
        wait_until(lambda p=pool: consumers_on(settings.broker_url, p) > 0, 60, f"{pool} pool")
    with httpx.Client(base_url=stack.api_url, timeout=10, headers=auth(tenant.token)) as api:
        agents = _create_agents(api)
        accepted = api.post(
            f"/v1/agents/{agents['lead_source']}/tasks",
            json={
                "task_type": "source_leads",
                "input": {"run_pipeline": True, "per_page": 4, "contacts_per_account": 2},
            },
        )
        assert accepted.status_code == 202, accepted.text
    run_id = uuid.UUID(accepted.json()["id"])

    tasks = _wait_quiet(db, tenant.tenant_id, timeout_s=180)

    stack.processes.assert_running()
    assert {t.status for t in tasks} == {"completed"}, [(t.agent_type, t.error) for t in tasks]
    children: dict[uuid.UUID | None, list[Task]] = defaultdict(list)
    for task in tasks:
        children[task.parent_task_id].append(task)
    [root] = children[None]
    assert root.id == run_id
    assert root.items_processed == root.items_succeeded + root.items_failed
    assert root.items_succeeded >= 2

    enrichments = children[root.id]
    assert len(enrichments) == root.items_succeeded
    assert {t.agent_type for t in enrichments} == {"enrichment"}
    finders = [c for t in enrichments for c in children[t.id]]
    assert len(finders) == len(enrichments)
    assert {t.agent_type for t in finders} == {"contact_finder"}
    scorings = [c for t in finders for c in children[t.id]]
    assert len(scorings) == len(finders)
    assert {t.agent_type for t in scorings} == {"scoring"}
    outreach = [c for t in scorings for c in children[t.id]]
    assert {t.agent_type for t in outreach} == {"outreach"}
    assert 0 < len(outreach) <= 2 * len(scorings)
    for task in tasks:
        assert task.items_processed == task.items_succeeded + task.items_failed
        assert task.agent_id is not None, task.agent_type

    with db.unit_of_work(tenant.tenant_id) as uow:
        session = uow.session
        accounts = session.scalars(sa.select(Account)).all()
        contacts = session.scalars(sa.select(Contact)).all()
        drafts = session.scalars(sa.select(Draft)).all()
        items = session.scalars(sa.select(ApprovalItem)).all()
        messages = session.scalar(sa.select(sa.func.count()).select_from(AgentMessage))
    assert len(accounts) == root.items_succeeded
    assert all(a.enrichment and a.score is not None for a in accounts)
    assert all(a.score_explanation for a in accounts)
    assert len(contacts) >= len(outreach)
    assert all(c.score is not None for c in contacts)
    assert messages == len(tasks) - 1  # one agent message per hand-off

    assert len(drafts) == len(outreach)
    assert {d.task_id for d in drafts} == {t.id for t in outreach}
    assert {d.status for d in drafts} == {"pending_approval"}
    assert sorted(i.draft_id for i in items if i.status == "pending") == sorted(
        d.id for d in drafts
    )
    with httpx.Client(base_url=stack.api_url, timeout=10, headers=auth(tenant.token)) as api:
        scoring = api.get(f"/v1/agents/{agents['scoring']}/metrics").json()["summary"]
        drafting = api.get(f"/v1/agents/{agents['outreach']}/metrics").json()["summary"]
    assert scoring["opportunities_identified"] == len(outreach)
    assert scoring["tasks_completed"] == len(scorings)
    assert drafting["tasks_completed"] == len(outreach)

    by_account: dict[uuid.UUID | None, list[Contact]] = defaultdict(list)
    for contact in contacts:
        by_account[contact.account_id].append(contact)
    drafted = {d.contact_id for d in drafts}
    for account_contacts in by_account.values():
        eligible = [c for c in account_contacts if c.email]
        chosen = [c.score or 0 for c in eligible if c.id in drafted]
        passed_over = [c.score or 0 for c in eligible if c.id not in drafted]
        if chosen and passed_over:
            # The contacts drafted for an account are its best-scored ones.
            assert min(chosen) >= max(passed_over)
