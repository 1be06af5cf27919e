"""The relay in embedded mode: SQLite outbox, Dramatiq's StubBroker and an in-process event sink."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dramatiq
import pytest
import sqlalchemy as sa
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.stub import StubBroker

from shared.agent_types import AgentType
from shared.broker.topology import dq_name, queue_arguments, xq_name
from shared.db.base import Base
from shared.db.database import Database, open_database
from shared.db.models import OutboxMessage
from shared.envelope import TaskEnvelope
from shared.events import Event, EventType
from shared.lifecycles import TaskPriority
from shared.outbox import event_outbox_values
from shared.tenancy import create_tenant
from workers.relay.claims import claim_batch, mark_published
from workers.relay.publishers import InProcessPublisher
from workers.relay.relay import Relay
from workers.relay.wakeup import EngineCommitWakeup

pytestmark = pytest.mark.unit


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    database = open_database(f"sqlite:///{tmp_path}/x.db")
    Base.metadata.create_all(database.engine)
    yield database
    database.dispose()


@pytest.fixture
def tenant_id(sqlite_db: Database) -> uuid.UUID:
    return create_tenant(sqlite_db, "Embedded Tenant")


@pytest.fixture
def stub_broker() -> Iterator[StubBroker]:
    broker = StubBroker()
    yield broker
    broker.close()


@pytest.fixture
def wakeup(sqlite_db: Database) -> Iterator[EngineCommitWakeup]:
    wake = EngineCommitWakeup(sqlite_db.engine)
    yield wake
    wake.close()


def _envelope(tenant_id: uuid.UUID, priority: TaskPriority = TaskPriority.HIGH) -> TaskEnvelope:
    return TaskEnvelope(
        task_id=uuid.uuid4(),
        tenant_id=tenant_id,
        agent_type=AgentType.OUTREACH,
        task_type="draft_outreach",
        priority=priority,
        input={"contact_id": str(uuid.uuid4())},
        trace_id="trace-embedded",
    )


def _event(tenant_id: uuid.UUID, aggregate_id: uuid.UUID) -> Event:
    return Event(
        event_type=EventType.TASK_QUEUED,
        tenant_id=tenant_id,
        aggregate_type="task",
        aggregate_id=aggregate_id,
        payload={"agent_type": "outreach"},
    )


def _write(db: Database, tenant_id: uuid.UUID, *, envelopes: int = 1) -> tuple[Any, ...]:
    written: list[Any] = []
    with db.unit_of_work(tenant_id) as uow:
        for _ in range(envelopes):
            envelope = _envelope(tenant_id)
            event = _event(tenant_id, envelope.task_id)
            uow.dispatch(envelope)
            uow.record(event)
            written += [envelope, event]
        uow.commit()
    return tuple(written)


def _outbox(db: Database) -> list[OutboxMessage]:
    with db.unit_of_work() as uow:
        return list(uow.session.scalars(sa.select(OutboxMessage)))


def _relay(
    db: Database,
    broker: StubBroker,
    sink: Callable[[dict[str, Any]], None],
    wake: EngineCommitWakeup,
    *,
    poll_interval_s: float = 0.2,
) -> Relay:
    return Relay(
        db,
        InProcessPublisher(broker, sink),
        wake,
        batch_size=50,
        lease_s=30,
        poll_interval_s=poll_interval_s,
        backoff_max_s=0.05,
    )


def test_queue_arguments_are_dramatiqs() -> None:
    broker = RabbitmqBroker(url="amqp://guest:guest@127.0.0.1:1/%2F", max_priority=4)
    try:
        expected = broker._build_queue_arguments("outreach")  # type: ignore[no-untyped-call]
        assert queue_arguments("outreach", 4) == expected
    finally:
        broker.close()
    assert (xq_name("outreach"), dq_name("outreach")) == ("outreach.XQ", "outreach.DQ")


def test_tasks_go_to_the_broker_and_events_to_the_sink(
    sqlite_db: Database,
    tenant_id: uuid.UUID,
    stub_broker: StubBroker,
    wakeup: EngineCommitWakeup,
) -> None:
    envelope, event = _write(sqlite_db, tenant_id)
    events: list[dict[str, Any]] = []

    published = _relay(sqlite_db, stub_broker, events.append, wakeup).run_once()

    assert published == 2
    message = dramatiq.Message.decode(stub_broker.queues["outreach"].get_nowait())
    task_row = next(row for row in _outbox(sqlite_db) if row.kind == "task")
    assert (message.queue_name, message.actor_name) == ("outreach", "outreach")
    assert message.args == (envelope.to_json_dict(),)
    assert message.message_id == str(task_row.message_id)
    assert events == [event.to_message()]
    rows = _outbox(sqlite_db)
    assert all(row.published_at is not None and row.claimed_until is None for row in rows)
    assert [row.attempts for row in rows] == [1, 1]


def test_a_failed_handover_is_released_then_retried(
    sqlite_db: Database,
    tenant_id: uuid.UUID,
    stub_broker: StubBroker,
    wakeup: EngineCommitWakeup,
) -> None:
    _, event = _write(sqlite_db, tenant_id)
    delivered: list[dict[str, Any]] = []
    failing = {"on": True}

    def sink(message: dict[str, Any]) -> None:
        if failing["on"]:
            raise ConnectionError("event bus is down")
        delivered.append(message)

    relay = _relay(sqlite_db, stub_broker, sink, wakeup)
    assert relay.run_once() == 1
    event_row = next(row for row in _outbox(sqlite_db) if row.kind == "event")
    assert event_row.published_at is None
    assert event_row.claimed_until is None
    assert event_row.last_error == "ConnectionError: event bus is down"

    failing["on"] = False
    deadline = time.monotonic() + 5
    while not delivered and time.monotonic() < deadline:
        relay.run_once()
        time.sleep(0.02)

    assert delivered == [event.to_message()]
    event_row = next(row for row in _outbox(sqlite_db) if row.kind == "event")
    assert event_row.published_at is not None
    assert event_row.attempts == 2


def test_a_claim_holds_its_rows_and_only_its_token_marks_them(
    sqlite_db: Database, tenant_id: uuid.UUID
) -> None:
    _write(sqlite_db, tenant_id, envelopes=3)
    with sqlite_db.unit_of_work() as uow:
        first = claim_batch(uow.session, limit=4, lease_s=30)
        second = claim_batch(uow.session, limit=10, lease_s=30)
        uow.commit()
    assert len(first) == 4
    assert len(second) == 2
    assert not {row.id for row in first} & {row.id for row in second}

    with sqlite_db.unit_of_work() as uow:
        assert claim_batch(uow.session, limit=10, lease_s=30) == []
        assert mark_published(uow.session, [row.id for row in first], uuid.uuid4()) == 0
        assert mark_published(uow.session, [row.id for row in first], first[0].claim_token) == 4
        uow.commit()


def test_an_expired_lease_lets_another_relay_take_over(
    sqlite_db: Database, tenant_id: uuid.UUID
) -> None:
    _write(sqlite_db, tenant_id)
    with sqlite_db.unit_of_work() as uow:
        crashed = claim_batch(uow.session, limit=10, lease_s=0.05)
        uow.commit()
    time.sleep(0.1)
    with sqlite_db.unit_of_work() as uow:
        taken_over = claim_batch(uow.session, limit=10, lease_s=30)
        assert mark_published(uow.session, [r.id for r in crashed], crashed[0].claim_token) == 0
        uow.commit()
    assert {row.id for row in taken_over} == {row.id for row in crashed}
    assert {row.attempts for row in taken_over} == {2}


def test_commit_wakeup_fires_only_for_outbox_inserts(
    sqlite_db: Database, tenant_id: uuid.UUID, wakeup: EngineCommitWakeup
) -> None:
    wakeup.wait(0)  # forget the tenant's creation
    create_tenant(sqlite_db, "Another Tenant")
    assert wakeup.wait(0.05) is False

    with sqlite_db.unit_of_work(tenant_id) as uow:
        uow.session.add(OutboxMessage(**event_outbox_values(_event(tenant_id, uuid.uuid4()))))
        uow.session.flush()
        # left without commit: rolled back, nothing to wake for
    assert wakeup.wait(0.05) is False

    _write(sqlite_db, tenant_id)
    assert wakeup.wait(1) is True
    with sqlite_db.unit_of_work() as uow:
        claim_batch(uow.session, limit=10, lease_s=30)
        uow.commit()
    assert wakeup.wait(0.05) is False


def test_a_running_relay_wakes_on_commit_not_on_its_poll(
    sqlite_db: Database,
    tenant_id: uuid.UUID,
    stub_broker: StubBroker,
    wakeup: EngineCommitWakeup,
) -> None:
    events: list[dict[str, Any]] = []
    relay = _relay(sqlite_db, stub_broker, events.append, wakeup, poll_interval_s=30)
    stop = threading.Event()
    thread = threading.Thread(target=relay.run, args=(stop,), daemon=True)
    thread.start()
    try:
        time.sleep(0.3)  # let it find nothing and settle into its 30 s wait
        _, event = _write(sqlite_db, tenant_id)
        started = time.monotonic()
        while not events and time.monotonic() - started < 5:
            time.sleep(0.02)
        assert events == [event.to_message()]
        assert time.monotonic() - started < 2
    finally:
        stop.set()
        thread.join(timeout=5)
    assert not thread.is_alive()
