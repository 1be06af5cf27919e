"""Per-agent limits across worker processes: a full daily quota holds tasks, never fails them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa

from services.demo.seed import SeededTarget, seed_sample_crm
from shared.db.database import Database
from shared.db.models import ApprovalItem, Draft, Task
from shared.settings import Settings
from shared.tenancy import CreatedKey
from tests.e2e.conftest import Stack, consumers_on
from tests.support.api import auth
from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def crm(db: Database, tenant: CreatedKey) -> list[SeededTarget]:
    return seed_sample_crm(db, tenant.tenant_id, contacts=8)


def _tasks(db: Database, tenant_id: uuid.UUID, task_ids: list[str]) -> list[Task]:
    with db.unit_of_work(tenant_id) as uow:
        return list(
            uow.session.scalars(
                sa.select(Task).where(Task.id.in_([uuid.UUID(t) for t in task_ids]))
            )
        )


def _settled(tasks: list[Task]) -> bool:
    return all(
        t.status == "completed" or (t.status == "pending" and t.scheduled_at is not None)
        for t in tasks
    )


def test_max_daily_outreach_of_five_drafts_five_and_holds_three_across_two_workers(
    stack: Stack, settings: Settings, tenant: CreatedKey, crm: list[SeededTarget], db: Database
) -> None:
    stack.start_worker("outreach-2")
    wait_until(lambda: consumers_on(settings.broker_url, "outreach") >= 2, 60, "two workers")
    with httpx.Client(base_url=stack.api_url, timeout=10, headers=auth(tenant.token)) as api:
        created = api.post(
            "/v1/agents",
            json={"agent_type": "outreach", "name": "capped", "config": {"maxDailyOutreach": 5}},
        )
        assert created.status_code == 201, created.text
        agent_id = created.json()["id"]
        task_ids = []
        for target in crm:
            body = {"task_type": "draft_outreach", "input": {"contact_id": str(target.contact_id)}}
            accepted = api.post(f"/v1/agents/{agent_id}/tasks", json=body)
            assert accepted.status_code == 202, accepted.text
            task_ids.append(accepted.json()["id"])

    wait_until(
        lambda: _settled(_tasks(db, tenant.tenant_id, task_ids)), 90, "every task drafted or held"
    )

    tasks = _tasks(db, tenant.tenant_id, task_ids)
    completed = [t for t in tasks if t.status == "completed"]
    held = [t for t in tasks if t.status == "pending"]
    assert (len(completed), len(held)) == (5, 3)
    tomorrow = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(
        days=1
    )
    assert {t.scheduled_at for t in held} == {tomorrow}
    assert all(t.dispatched_at is None and t.error is None for t in held)
    with db.unit_of_work(tenant.tenant_id) as uow:
        drafts = uow.session.scalars(
            sa.select(Draft.task_id).where(Draft.tenant_id == tenant.tenant_id)
        ).all()
        items = uow.session.scalars(
            sa.select(ApprovalItem.status).where(ApprovalItem.tenant_id == tenant.tenant_id)
        ).all()
    assert sorted(drafts) == sorted(t.id for t in completed)
    assert items == ["pending"] * 5
    logs = stack.processes.log("outreach") + stack.processes.log("outreach-2")
    assert logs.count("task.held") == 3
