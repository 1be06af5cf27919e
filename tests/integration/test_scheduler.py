"""The scheduler against real Postgres, as its own database role, with two replicas racing.

The run's database is shared with every other test, so the replicas run on a clock set in
2001: other tests' agents did not exist then and their held tasks and approval items are not
due, so only this test's tenant, whose rows are dated before that clock, has anything to do.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
import sqlalchemy as sa

from services.demo.seed import seed_sample_crm
from shared.agents.service import create_agent
from shared.db.database import Database
from shared.db.models import ActivityLogEntry, ApprovalItem, Draft, OutboxMessage, Task
from shared.lifecycles import AgentStatus, ApprovalStatus, DraftStatus, TaskStatus
from shared.settings import Settings
from shared.tenancy import CreatedKey
from tests.support.approvals import make_pending_item
from tests.support.infra import PG_HOST, PG_PORT
from workers.scheduler import Scheduler, SchedulerCycle, build_scheduler, schedule_key

pytestmark = pytest.mark.integration

EPOCH = datetime(2001, 1, 1, tzinfo=UTC)
BEFORE_EPOCH = EPOCH - timedelta(days=1)


class FakeClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(EPOCH)


@pytest.fixture
def replicas(settings: Settings, clock: FakeClock) -> Iterator[list[Scheduler]]:
    built = [build_scheduler(settings, clock=clock) for _ in range(2)]
    yield [scheduler for scheduler, _ in built]
    for _, database in built:
        database.dispose()


def run_together(replicas: list[Scheduler], cycles: int = 1) -> list[SchedulerCycle]:
    """Run every replica's cycles at the same time, each in its own thread."""
    barrier = threading.Barrier(len(replicas))
    results: list[SchedulerCycle] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def _replica(scheduler: Scheduler) -> None:
        try:
            barrier.wait(timeout=30)
            for _ in range(cycles):
                result = scheduler.cycle()
                with lock:
                    results.append(result)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=_replica, args=(s,)) for s in replicas]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert all(result.failed_tenants == 0 for result in results)
    return results


def make_agent(
    db: Database,
    tenant_id: uuid.UUID,
    *,
    agent_type: str = "lead_source",
    schedule: str = "*/5 * * * *",
    created_at: datetime = BEFORE_EPOCH,
    status: AgentStatus = AgentStatus.IDLE,
    **config: Any,
) -> uuid.UUID:
    with db.unit_of_work(tenant_id) as uow:
        agent = create_agent(
            uow,
            tenant_id,
            agent_type=agent_type,
            name=f"agent-{uuid.uuid4().hex[:8]}",
            config={"schedule": schedule, **config},
        )
        agent.created_at = created_at
        agent.status = status.value
        uow.commit()
        return agent.id


def scheduled_tasks(db: Database, tenant_id: uuid.UUID, agent_id: uuid.UUID) -> list[Task]:
    with db.unit_of_work(tenant_id) as uow:
        return list(
            uow.session.scalars(
                sa.select(Task)
                .where(Task.tenant_id == tenant_id, Task.agent_id == agent_id)
                .order_by(Task.idempotency_key)
            )
        )


def task_dispatches(
    db: Database, tenant_id: uuid.UUID, task_ids: list[uuid.UUID], key: str = "dispatch"
) -> int:
    """Task messages for these tasks whose dedup key ends in ``key`` (a LIKE pattern):
    ``dispatch`` for a first dispatch, ``due:%`` for a held task set going again."""
    keys = [f"task:{task_id}:{key}" for task_id in task_ids]
    with db.unit_of_work(tenant_id) as uow:
        return (
            uow.session.scalar(
                sa.select(sa.func.count())
                .select_from(OutboxMessage)
                .where(
                    OutboxMessage.tenant_id == tenant_id,
                    sa.or_(*(OutboxMessage.dedup_key.like(key) for key in keys)),
                )
            )
            or 0
        )


def activity(db: Database, tenant_id: uuid.UUID, agent_id: uuid.UUID, action: str) -> list[Any]:
    with db.unit_of_work(tenant_id) as uow:
        return list(
            uow.session.scalars(
                sa.select(ActivityLogEntry).where(
                    ActivityLogEntry.tenant_id == tenant_id,
                    ActivityLogEntry.agent_id == agent_id,
                    ActivityLogEntry.action == action,
                )
            )
        )


def test_two_replicas_fire_each_due_slot_exactly_once(
    db: Database, tenant: CreatedKey, replicas: list[Scheduler], clock: FakeClock
) -> None:
    agent_id = make_agent(db, tenant.tenant_id)
    slots = [EPOCH + timedelta(minutes=5 * step) for step in range(3)]

    fired = 0
    for slot in slots:
        clock.now = slot + timedelta(seconds=40)
        fired += sum(result.fired for result in run_together(replicas, cycles=3))

    tasks = scheduled_tasks(db, tenant.tenant_id, agent_id)
    assert fired == 3
    assert [task.idempotency_key for task in tasks] == [schedule_key(agent_id, s) for s in slots]
    assert {task.trigger for task in tasks} == {"scheduled"}
    assert {task.task_type for task in tasks} == {"source_leads"}
    assert all(task.input["agent_id"] == str(agent_id) for task in tasks)
    assert task_dispatches(db, tenant.tenant_id, [task.id for task in tasks]) == 3
    assert len(activity(db, tenant.tenant_id, agent_id, "schedule.fired")) == 3


def test_only_the_latest_missed_slot_fires_after_downtime(
    db: Database, tenant: CreatedKey, replicas: list[Scheduler], clock: FakeClock
) -> None:
    agent_id = make_agent(db, tenant.tenant_id, created_at=EPOCH - timedelta(days=3))
    clock.now = EPOCH + timedelta(minutes=7)

    run_together(replicas, cycles=2)

    tasks = scheduled_tasks(db, tenant.tenant_id, agent_id)
    latest = EPOCH + timedelta(minutes=5)
    assert [task.idempotency_key for task in tasks] == [schedule_key(agent_id, latest)]


def test_a_slot_before_the_agent_existed_is_not_fired(
    db: Database, tenant: CreatedKey, replicas: list[Scheduler], clock: FakeClock
) -> None:
    agent_id = make_agent(db, tenant.tenant_id, created_at=EPOCH + timedelta(minutes=2))
    clock.now = EPOCH + timedelta(minutes=4)
    run_together(replicas)
    assert scheduled_tasks(db, tenant.tenant_id, agent_id) == []

    clock.now = EPOCH + timedelta(minutes=5)
    run_together(replicas)
    assert len(scheduled_tasks(db, tenant.tenant_id, agent_id)) == 1


def test_paused_and_disabled_agents_never_fire(
    db: Database, tenant: CreatedKey, replicas: list[Scheduler], clock: FakeClock
) -> None:
    paused = make_agent(db, tenant.tenant_id, status=AgentStatus.PAUSED)
    disabled = make_agent(db, tenant.tenant_id, enabled=False)
    skipping_paused = make_agent(
        db, tenant.tenant_id, agent_type="outreach", status=AgentStatus.PAUSED
    )

    for minutes in (0, 5, 10):
        clock.now = EPOCH + timedelta(minutes=minutes, seconds=1)
        run_together(replicas)

    for agent_id in (paused, disabled, skipping_paused):
        assert scheduled_tasks(db, tenant.tenant_id, agent_id) == []
        with db.unit_of_work(tenant.tenant_id) as uow:
            logged = uow.session.scalar(
                sa.select(sa.func.count())
                .select_from(ActivityLogEntry)
                .where(ActivityLogEntry.agent_id == agent_id)
            )
        assert logged == 0


def test_types_that_need_a_record_log_one_skip_per_slot(
    db: Database, tenant: CreatedKey, replicas: list[Scheduler], clock: FakeClock
) -> None:
    agent_id = make_agent(db, tenant.tenant_id, agent_type="outreach")

    for minutes in (0, 5):
        clock.now = EPOCH + timedelta(minutes=minutes, seconds=10)
        results = run_together(replicas, cycles=2)
        assert sum(result.skipped for result in results) == 1

    skips = activity(db, tenant.tenant_id, agent_id, "schedule.skipped")
    assert sorted(entry.details["slot"] for entry in skips) == [
        EPOCH.isoformat(),
        (EPOCH + timedelta(minutes=5)).isoformat(),
    ]
    assert "cannot name" in skips[0].details["reason"]
    assert scheduled_tasks(db, tenant.tenant_id, agent_id) == []


def add_held_task(
    db: Database, tenant_id: uuid.UUID, due: datetime, status: TaskStatus
) -> uuid.UUID:
    """A task held until ``due`` after its first dispatch (a quota put it back)."""
    task_id = uuid.uuid4()
    with db.unit_of_work(tenant_id) as uow:
        uow.session.add(
            OutboxMessage(
                tenant_id=tenant_id,
                kind="task",
                destination="followup",
                payload={},
                dedup_key=f"task:{task_id}:dispatch",
                published_at=EPOCH - timedelta(days=1),
            )
        )
        uow.session.add(
            Task(
                id=task_id,
                tenant_id=tenant_id,
                agent_type="followup",
                task_type="draft_followup",
                status=status.value,
                trigger="event",
                input={"draft_id": str(uuid.uuid4())},
                scheduled_at=due,
            )
        )
        uow.commit()
    return task_id


def test_due_held_tasks_are_dispatched_once_across_replicas(
    db: Database, settings: Settings, tenant: CreatedKey, clock: FakeClock
) -> None:
    due = [
        add_held_task(db, tenant.tenant_id, EPOCH - timedelta(minutes=i), TaskStatus.PENDING)
        for i in range(25)
    ]
    later = add_held_task(db, tenant.tenant_id, EPOCH + timedelta(days=2), TaskStatus.PENDING)
    cancelled = add_held_task(db, tenant.tenant_id, EPOCH, TaskStatus.CANCELLED)
    small_batches = settings.model_copy(update={"scheduler_batch_size": 4})
    built = [build_scheduler(small_batches, clock=clock) for _ in range(2)]
    try:
        results = run_together([scheduler for scheduler, _ in built], cycles=2)
    finally:
        for _, database in built:
            database.dispose()

    assert sum(result.dispatched for result in results) == len(due)
    assert task_dispatches(db, tenant.tenant_id, due, "due:%") == len(due)
    assert task_dispatches(db, tenant.tenant_id, [later, cancelled], "due:%") == 0
    with db.unit_of_work(tenant.tenant_id) as uow:
        stamped = dict(
            uow.session.execute(
                sa.select(Task.id, Task.dispatched_at).where(Task.id.in_([*due, later, cancelled]))
            ).all()
        )
    assert all(stamped[task_id] == EPOCH for task_id in due)
    assert stamped[later] is None
    assert stamped[cancelled] is None


def test_overdue_approval_items_expire_once_with_their_event(
    db: Database, tenant: CreatedKey, replicas: list[Scheduler]
) -> None:
    targets = seed_sample_crm(db, tenant.tenant_id, contacts=2)
    overdue = make_pending_item(db, tenant.tenant_id, targets[0])
    open_item = make_pending_item(db, tenant.tenant_id, targets[1])
    with db.unit_of_work(tenant.tenant_id) as uow:
        for item_id, expires in ((overdue, EPOCH - timedelta(hours=1)), (open_item, None)):
            uow.session.execute(
                sa.update(ApprovalItem).where(ApprovalItem.id == item_id).values(expires_at=expires)
            )
        uow.commit()

    results = run_together(replicas, cycles=2)

    assert sum(result.expired for result in results) == 1
    with db.unit_of_work(tenant.tenant_id) as uow:
        items = {i.id: i for i in uow.session.scalars(sa.select(ApprovalItem))}
        draft = uow.session.get(Draft, items[overdue].draft_id)
        events = uow.session.scalars(
            sa.select(OutboxMessage.payload).where(OutboxMessage.destination == "approval.expired")
        ).all()
    assert items[overdue].status == ApprovalStatus.EXPIRED
    assert items[open_item].status == ApprovalStatus.PENDING
    assert draft is not None
    assert draft.status == DraftStatus.REJECTED
    assert [event["aggregate_id"] for event in events] == [str(overdue)]


def test_the_scheduler_role_sees_tenant_ids_only_through_its_function(
    settings: Settings, db: Database, tenant: CreatedKey, clock: FakeClock
) -> None:
    make_agent(db, tenant.tenant_id)
    database = settings.database_url.rsplit("/", 1)[1]
    with psycopg.connect(
        host=PG_HOST, port=PG_PORT, user="agentfleet_scheduler", dbname=database
    ) as conn:
        tenants = [
            row[0] for row in conn.execute("SELECT agentfleet_scheduler_tenants(%s)", (clock.now,))
        ]
        visible_agents = conn.execute("SELECT count(*) FROM agents").fetchone()
    assert tenant.tenant_id in tenants
    assert visible_agents == (0,)
    with (
        psycopg.connect(host=PG_HOST, port=PG_PORT, user="agentfleet_app", dbname=database) as conn,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        conn.execute("SELECT agentfleet_scheduler_tenants(now())")
