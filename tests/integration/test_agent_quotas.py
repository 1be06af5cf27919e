"""Per-agent quotas on real Postgres: racing takers, idempotent claims, release, windows."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from shared.agent_types import AgentType
from shared.agents.quotas import Quota, QuotaWindow, release_quota, take_quota, window_bounds
from shared.agents.service import create_agent
from shared.db.database import Database
from shared.db.models import AgentQuotaClaim, AgentQuotaWindow
from shared.domain.tasks import TaskSubmission, submit_task
from shared.tenancy import CreatedKey

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 21, 15, 30, tzinfo=UTC)
DAILY_FIVE = Quota("max_daily_outreach", 5, QuotaWindow.DAY)


def _agent(db: Database, tenant: CreatedKey) -> uuid.UUID:
    with db.unit_of_work(tenant.tenant_id) as uow:
        agent = create_agent(
            uow, tenant.tenant_id, agent_type="outreach", name=f"quota-{uuid.uuid4().hex[:6]}"
        )
        uow.commit()
        return agent.id


def _tasks(db: Database, tenant: CreatedKey, count: int) -> list[uuid.UUID]:
    ids = []
    for _ in range(count):
        with db.unit_of_work(tenant.tenant_id) as uow:
            task, _ = submit_task(
                uow,
                tenant.tenant_id,
                TaskSubmission(AgentType.OUTREACH, "draft_outreach", {"contact_id": "x"}),
            )
            ids.append(task.id)
    return ids


def _take(
    db: Database,
    tenant: CreatedKey,
    agent_id: uuid.UUID,
    task_id: uuid.UUID,
    quotas: list[Quota],
    now: datetime = NOW,
) -> bool:
    with db.unit_of_work(tenant.tenant_id) as uow:
        full = take_quota(
            uow.session,
            tenant_id=tenant.tenant_id,
            agent_id=agent_id,
            task_id=task_id,
            quotas=quotas,
            now=now,
        )
        if full is None:
            uow.commit()
        return full is None


def _used(db: Database, tenant: CreatedKey, agent_id: uuid.UUID) -> dict[tuple[str, datetime], int]:
    with db.unit_of_work(tenant.tenant_id) as uow:
        rows = uow.session.execute(
            sa.select(
                AgentQuotaWindow.quota, AgentQuotaWindow.window_start, AgentQuotaWindow.used
            ).where(AgentQuotaWindow.agent_id == agent_id)
        ).all()
    return {(quota, start): used for quota, start, used in rows}


def test_eight_racing_tasks_get_exactly_five_daily_slots(db: Database, tenant: CreatedKey) -> None:
    agent_id = _agent(db, tenant)
    task_ids = _tasks(db, tenant, 8)
    barrier = threading.Barrier(len(task_ids))
    granted: list[uuid.UUID] = []

    def race(task_id: uuid.UUID) -> None:
        barrier.wait()
        if _take(db, tenant, agent_id, task_id, [DAILY_FIVE]):
            granted.append(task_id)

    threads = [threading.Thread(target=race, args=(task_id,)) for task_id in task_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert len(granted) == 5
    day = window_bounds(QuotaWindow.DAY, NOW)[0]
    assert _used(db, tenant, agent_id) == {("max_daily_outreach", day): 5}
    with db.unit_of_work(tenant.tenant_id) as uow:
        holders = set(
            uow.session.scalars(
                sa.select(AgentQuotaClaim.task_id).where(AgentQuotaClaim.agent_id == agent_id)
            )
        )
    assert holders == set(granted)


def test_a_task_taking_its_slot_again_is_not_counted_twice(
    db: Database, tenant: CreatedKey
) -> None:
    agent_id = _agent(db, tenant)
    [task_id] = _tasks(db, tenant, 1)

    assert _take(db, tenant, agent_id, task_id, [DAILY_FIVE])
    assert _take(db, tenant, agent_id, task_id, [DAILY_FIVE])

    assert list(_used(db, tenant, agent_id).values()) == [1]


def test_a_released_slot_can_be_taken_by_another_task(db: Database, tenant: CreatedKey) -> None:
    agent_id = _agent(db, tenant)
    first, second = _tasks(db, tenant, 2)
    one_a_day = [Quota("daily", 1, QuotaWindow.DAY)]
    assert _take(db, tenant, agent_id, first, one_a_day)
    assert not _take(db, tenant, agent_id, second, one_a_day)

    with db.unit_of_work(tenant.tenant_id) as uow:
        assert release_quota(uow.session, first) == 1
        uow.commit()

    assert _take(db, tenant, agent_id, second, one_a_day)
    assert list(_used(db, tenant, agent_id).values()) == [1]


def test_a_full_hourly_quota_reopens_next_hour_and_takes_nothing_meanwhile(
    db: Database, tenant: CreatedKey
) -> None:
    agent_id = _agent(db, tenant)
    tasks = _tasks(db, tenant, 3)
    quotas = [Quota("hourly", 2, QuotaWindow.HOUR), Quota("daily", 10, QuotaWindow.DAY)]
    assert _take(db, tenant, agent_id, tasks[0], quotas)
    assert _take(db, tenant, agent_id, tasks[1], quotas)

    with db.unit_of_work(tenant.tenant_id) as uow:
        full = take_quota(
            uow.session,
            tenant_id=tenant.tenant_id,
            agent_id=agent_id,
            task_id=tasks[2],
            quotas=quotas,
            now=NOW,
        )
    assert full is not None
    assert full.quota.name == "hourly"
    assert full.reopens_at == datetime(2026, 11, 21, 16, 0, tzinfo=UTC)
    hour, day = window_bounds(QuotaWindow.HOUR, NOW)[0], window_bounds(QuotaWindow.DAY, NOW)[0]
    assert _used(db, tenant, agent_id) == {("hourly", hour): 2, ("daily", day): 2}

    next_hour = NOW + timedelta(hours=1)
    assert _take(db, tenant, agent_id, tasks[2], quotas, now=next_hour)
    assert _used(db, tenant, agent_id)[("daily", day)] == 3


def test_a_claim_left_from_an_earlier_window_is_replaced(db: Database, tenant: CreatedKey) -> None:
    agent_id = _agent(db, tenant)
    [task_id] = _tasks(db, tenant, 1)
    assert _take(db, tenant, agent_id, task_id, [DAILY_FIVE])

    tomorrow = NOW + timedelta(days=1)
    assert _take(db, tenant, agent_id, task_id, [DAILY_FIVE], now=tomorrow)

    with db.unit_of_work(tenant.tenant_id) as uow:
        claims = uow.session.scalars(
            sa.select(AgentQuotaClaim.window_start).where(AgentQuotaClaim.task_id == task_id)
        ).all()
    assert claims == [window_bounds(QuotaWindow.DAY, tomorrow)[0]]
