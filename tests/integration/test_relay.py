"""The outbox relay against real Postgres and RabbitMQ: confirms, routing, wake-ups, concurrency."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import dramatiq
import pika
import pytest
import sqlalchemy as sa
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from pika.adapters.blocking_connection import BlockingChannel
from sqlalchemy.engine import make_url

from shared.agent_types import AgentType
from shared.broker.topology import declare_agent_queue, declare_events_exchange, unrouted_name
from shared.db.database import Database, open_database
from shared.db.models import OutboxMessage
from shared.envelope import TaskEnvelope
from shared.events import Event, EventType
from shared.lifecycles import TaskPriority
from shared.settings import Settings
from shared.tenancy import CreatedKey
from tests.support import infra
from tests.support.tcp_proxy import TcpProxy
from workers.relay.claims import ClaimedRow
from workers.relay.publishers import Publisher, PublishOutcome, RabbitmqPublisher
from workers.relay.relay import Relay
from workers.relay.wakeup import PostgresNotifyWakeup, Wakeup, libpq_conninfo

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[2]
Received = dict[str, list[tuple[Any, Any, bytes]]]
RelayFactory = Callable[..., Relay]


@pytest.fixture
def relay_db(settings: Settings) -> Iterator[Database]:
    database = open_database(settings.relay_url(), pool_size=4)
    yield database
    database.dispose()


@pytest.fixture
def make_relay(settings: Settings, relay_db: Database) -> Iterator[RelayFactory]:
    """Relays with real publishers and wake-ups (closed at the end); by default on the run's
    relay role and broker."""
    with ExitStack() as closing:

        def factory(
            *,
            database: Database = relay_db,
            broker_url: str = settings.broker_url,
            wakeup: Wakeup | None = None,
            wrap: Callable[[Publisher], Publisher] = lambda publisher: publisher,
            batch_size: int = 1000,
            poll_interval_s: float = 0.2,
        ) -> Relay:
            publisher = wrap(
                RabbitmqPublisher(
                    broker_url, settings.events_exchange, settings.broker_max_priority
                )
            )
            closing.callback(publisher.close)
            if wakeup is None:
                url = database.engine.url.render_as_string(hide_password=False)
                wakeup = PostgresNotifyWakeup(libpq_conninfo(url))
            closing.callback(wakeup.close)
            return Relay(
                database,
                publisher,
                wakeup,
                batch_size=batch_size,
                lease_s=30,
                poll_interval_s=poll_interval_s,
                backoff_max_s=0.2,
            )

        yield factory


@pytest.fixture
def channel(settings: Settings) -> Iterator[BlockingChannel]:
    connection = pika.BlockingConnection(pika.URLParameters(settings.broker_url))
    try:
        yield connection.channel()
    finally:
        connection.close()


@pytest.fixture
def event_queue(channel: BlockingChannel, settings: Settings) -> str:
    """A private queue bound to every event (deleted with the test's connection)."""
    declare_events_exchange(channel, settings.events_exchange)
    queue: str = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(queue, settings.events_exchange, routing_key="#")
    return queue


def _envelope(tenant_id: uuid.UUID, priority: TaskPriority = TaskPriority.HIGH) -> TaskEnvelope:
    return TaskEnvelope(
        task_id=uuid.uuid4(),
        tenant_id=tenant_id,
        agent_type=AgentType.OUTREACH,
        task_type="draft_outreach",
        priority=priority,
        input={"contact_id": str(uuid.uuid4())},
        trace_id=f"trace-{uuid.uuid4().hex[:8]}",
    )


def _event(tenant_id: uuid.UUID, event_type: EventType = EventType.TASK_QUEUED) -> Event:
    return Event(
        event_type=event_type,
        tenant_id=tenant_id,
        aggregate_type="task",
        aggregate_id=uuid.uuid4(),
        payload={"note": "relay test"},
        trace_id="trace-event",
    )


def _commit(
    db: Database, tenant_id: uuid.UUID, *, envelopes: list[TaskEnvelope], events: list[Event]
) -> None:
    with db.unit_of_work(tenant_id) as uow:
        for envelope in envelopes:
            uow.dispatch(envelope)
        for event in events:
            uow.record(event)
        uow.commit()


def _rows(owner_db: Database, tenant_id: uuid.UUID) -> list[OutboxMessage]:
    with owner_db.unit_of_work() as uow:
        statement = sa.select(OutboxMessage).where(OutboxMessage.tenant_id == tenant_id)
        return list(uow.session.scalars(statement))


def _task_message_ids(owner_db: Database, tenant_id: uuid.UUID) -> set[str]:
    return {str(row.message_id) for row in _rows(owner_db, tenant_id) if row.kind == "task"}


def _all_published(owner_db: Database, tenant_id: uuid.UUID) -> bool:
    return all(row.published_at for row in _rows(owner_db, tenant_id))


def _drain_outbox(relay: Relay) -> None:
    """Publish whatever earlier tests left behind, so this test's rows are the next batch."""
    for _ in range(100):
        if relay.run_once() == 0:
            return


def _collect(channel: BlockingChannel, queue: str, wanted: set[str], timeout_s: float) -> Received:
    """Consume ``queue`` until every wanted message id arrived and the queue is empty."""
    received: Received = defaultdict(list)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        method, properties, body = channel.basic_get(queue, auto_ack=True)
        if method is None:
            if wanted <= received.keys():
                break
            channel.connection.sleep(0.05)
        elif properties.message_id in wanted:
            received[properties.message_id].append((method, properties, body))
    return received


def _wait_until(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@contextlib.contextmanager
def _running(*relays: Relay) -> Iterator[None]:
    """Run relays in background threads; stop them and check they ended on the way out."""
    stop = threading.Event()
    threads = [threading.Thread(target=r.run, args=(stop,), daemon=True) for r in relays]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=5)
    assert not any(thread.is_alive() for thread in threads)


def test_tasks_and_events_are_published_then_marked(
    make_relay: RelayFactory,
    db: Database,
    owner_db: Database,
    tenant: CreatedKey,
    channel: BlockingChannel,
    event_queue: str,
    settings: Settings,
) -> None:
    relay = make_relay()
    envelope, event = _envelope(tenant.tenant_id), _event(tenant.tenant_id)
    _commit(db, tenant.tenant_id, envelopes=[envelope], events=[event])
    assert all(row.published_at is None for row in _rows(owner_db, tenant.tenant_id))

    assert relay.run_once() >= 2

    rows = {row.kind: row for row in _rows(owner_db, tenant.tenant_id)}
    assert all(row.published_at is not None for row in rows.values())
    assert all(row.claimed_until is None and row.attempts == 1 for row in rows.values())
    task_id = str(rows["task"].message_id)
    tasks = _collect(channel, "outreach", {task_id}, timeout_s=10)
    [(_, properties, body)] = tasks[task_id]
    message = dramatiq.Message.decode(body)
    assert (message.queue_name, message.actor_name) == ("outreach", "outreach")
    assert message.args == (envelope.to_json_dict(),)
    assert message.message_id == task_id
    assert properties.priority == TaskPriority.HIGH.broker_priority == 3
    assert properties.delivery_mode == 2
    # A trace id that is not a W3C one travels as it is, without a traceparent.
    assert properties.headers == {"trace_id": envelope.trace_id}

    events = _collect(channel, event_queue, {str(event.event_id)}, timeout_s=10)
    [(method, properties, body)] = events[str(event.event_id)]
    assert method.routing_key == "task.queued"
    assert json.loads(body) == event.to_message()
    assert properties.type == "task.queued"
    assert properties.content_type == "application/json"
    assert properties.delivery_mode == 2


def test_an_event_nobody_subscribed_to_is_kept_in_the_unrouted_queue(
    make_relay: RelayFactory,
    db: Database,
    owner_db: Database,
    tenant: CreatedKey,
    channel: BlockingChannel,
    settings: Settings,
) -> None:
    unrouted = unrouted_name(settings.events_exchange)
    declare_events_exchange(channel, settings.events_exchange)
    channel.queue_purge(unrouted)
    event = _event(tenant.tenant_id, EventType.USAGE_BUDGET_EXCEEDED)
    _commit(db, tenant.tenant_id, envelopes=[], events=[event])

    make_relay().run_once()

    [row] = _rows(owner_db, tenant.tenant_id)
    assert row.published_at is not None
    received = _collect(channel, unrouted, {str(event.event_id)}, timeout_s=10)
    [(method, _, body)] = received[str(event.event_id)]
    assert method.routing_key == "usage.budget_exceeded"
    assert json.loads(body) == event.to_message()


def test_a_task_whose_queue_vanished_is_not_marked_until_routed(
    make_relay: RelayFactory,
    db: Database,
    owner_db: Database,
    tenant: CreatedKey,
    channel: BlockingChannel,
) -> None:
    relay = make_relay()
    first = _envelope(tenant.tenant_id).model_copy(update={"agent_type": AgentType.LEAD_SOURCE})
    _commit(db, tenant.tenant_id, envelopes=[first], events=[])
    relay.run_once()  # declares lead_source on the relay's connection
    channel.queue_delete("lead_source")

    second = first.model_copy(update={"task_id": uuid.uuid4()})
    _commit(db, tenant.tenant_id, envelopes=[second], events=[])
    relay.run_once()

    pending = [row for row in _rows(owner_db, tenant.tenant_id) if row.published_at is None]
    assert [row.payload["task_id"] for row in pending] == [str(second.task_id)]
    assert pending[0].last_error is not None
    assert "UnroutableError" in pending[0].last_error
    # Leftover rows of earlier tests may be what a later pass publishes, so wait on this
    # tenant's rows rather than on the pass's count.
    assert _wait_until(
        lambda: relay.run_once() >= 0 and _all_published(owner_db, tenant.tenant_id),
        timeout_s=5,
    )
    received = _collect(channel, "lead_source", {str(pending[0].message_id)}, timeout_s=10)
    assert len(received[str(pending[0].message_id)]) == 1


def test_a_committed_row_wakes_a_waiting_relay_through_notify(
    make_relay: RelayFactory,
    settings: Settings,
    db: Database,
    owner_db: Database,
    tenant: CreatedKey,
) -> None:
    entered = threading.Semaphore(0)

    class ObservedWakeup(PostgresNotifyWakeup):
        def wait(self, timeout_s: float) -> bool:
            entered.release()
            return super().wait(timeout_s)

    relay = make_relay(
        wakeup=ObservedWakeup(libpq_conninfo(settings.relay_url())), poll_interval_s=30
    )
    with _running(relay):
        # The first wait opens the LISTEN connection; the second is the 30 s idle wait.
        assert entered.acquire(timeout=10)
        assert entered.acquire(timeout=10)
        _commit(db, tenant.tenant_id, envelopes=[], events=[_event(tenant.tenant_id)])
        started = time.monotonic()
        assert _wait_until(lambda: _all_published(owner_db, tenant.tenant_id), timeout_s=5)
        assert time.monotonic() - started < 2


class CountingPublisher:
    """Delegates to a real publisher and counts what it confirmed (to see both relays work)."""

    def __init__(self, inner: Publisher) -> None:
        self.inner = inner
        self.confirmed = 0

    def publish(self, rows: Sequence[ClaimedRow]) -> PublishOutcome:
        outcome = self.inner.publish(rows)
        self.confirmed += len(outcome.published)
        return outcome

    def close(self) -> None:
        self.inner.close()


def test_two_relays_publish_each_row_exactly_once(
    make_relay: RelayFactory,
    db: Database,
    owner_db: Database,
    tenant: CreatedKey,
    channel: BlockingChannel,
) -> None:
    for _ in range(6):
        envelopes = [_envelope(tenant.tenant_id) for _ in range(50)]
        _commit(db, tenant.tenant_id, envelopes=envelopes, events=[])
    publishers: list[CountingPublisher] = []

    def counted(publisher: Publisher) -> Publisher:
        publishers.append(CountingPublisher(publisher))
        return publishers[-1]

    relays = [make_relay(wrap=counted, batch_size=10, poll_interval_s=0.1) for _ in range(2)]
    with _running(*relays):

        def all_published() -> bool:
            rows = _rows(owner_db, tenant.tenant_id)
            return len(rows) == 300 and all(row.published_at for row in rows)

        assert _wait_until(all_published, timeout_s=60)
    assert all(publisher.confirmed > 0 for publisher in publishers)

    wanted = _task_message_ids(owner_db, tenant.tenant_id)
    received = _collect(channel, "outreach", wanted, timeout_s=20)
    assert received.keys() == wanted
    assert {len(copies) for copies in received.values()} == {1}


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def test_rows_wait_out_a_broker_outage(
    make_relay: RelayFactory,
    settings: Settings,
    db: Database,
    owner_db: Database,
    tenant: CreatedKey,
    channel: BlockingChannel,
) -> None:
    good = make_relay()
    _drain_outbox(good)
    dead = make_relay(broker_url=f"amqp://guest:guest@127.0.0.1:{_closed_port()}/%2F")
    envelope = _envelope(tenant.tenant_id)
    _commit(db, tenant.tenant_id, envelopes=[envelope], events=[_event(tenant.tenant_id)])

    assert dead.run_once() == 0

    rows = _rows(owner_db, tenant.tenant_id)
    assert len(rows) == 2
    for row in rows:
        assert row.published_at is None
        assert row.claimed_until is None
        assert row.attempts == 1
        assert row.last_error
        assert "AMQPConnectionError" in row.last_error
    # Wait for this tenant's rows: leftovers of other tests may be published first.
    assert _wait_until(
        lambda: good.run_once() >= 0 and _all_published(owner_db, tenant.tenant_id), timeout_s=5
    )
    rows = _rows(owner_db, tenant.tenant_id)
    assert all(row.published_at is not None and row.attempts == 2 for row in rows)
    task_id = next(str(row.message_id) for row in rows if row.kind == "task")
    assert len(_collect(channel, "outreach", {task_id}, timeout_s=10)[task_id]) == 1


def test_dramatiq_accepts_the_queues_the_relay_declared(
    make_relay: RelayFactory, settings: Settings, db: Database, tenant: CreatedKey
) -> None:
    _commit(db, tenant.tenant_id, envelopes=[_envelope(tenant.tenant_id)], events=[])
    make_relay().run_once()

    broker = RabbitmqBroker(max_priority=settings.broker_max_priority, url=settings.broker_url)
    try:
        broker.declare_queue("outreach", ensure=True)
        # Declaring all three again with Dramatiq's own arguments would fail on any drift.
        broker.get_queue_message_counts("outreach")
    finally:
        broker.close()


def test_declare_agent_queue_is_idempotent_with_dramatiq_first(
    settings: Settings, channel: BlockingChannel
) -> None:
    broker = RabbitmqBroker(max_priority=settings.broker_max_priority, url=settings.broker_url)
    try:
        broker.declare_queue("scoring", ensure=True)
    finally:
        broker.close()
    declare_agent_queue(channel, "scoring", settings.broker_max_priority)


def test_the_relay_process_stops_cleanly_on_sigterm(
    settings: Settings, db: Database, owner_db: Database, tenant: CreatedKey, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "AGENTFLEET_DATABASE_URL": settings.database_url,
        "AGENTFLEET_RELAY_DATABASE_URL": settings.relay_url(),
        "AGENTFLEET_BROKER_URL": settings.broker_url,
        "AGENTFLEET_EVENTS_EXCHANGE": settings.events_exchange,
        "AGENTFLEET_ENCRYPTION_KEY": settings.encryption_key.get_secret_value(),
    }
    log_path = tmp_path / "relay.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "workers.relay.main"],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        _commit(db, tenant.tenant_id, envelopes=[], events=[_event(tenant.tenant_id)])
        assert _wait_until(lambda: _all_published(owner_db, tenant.tenant_id), timeout_s=20)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=5)
    output = log_path.read_text(errors="replace")
    assert process.returncode == 0, output
    assert "relay.stopped" in output
    assert "SIGTERM" in output


def test_the_relay_rides_out_broker_and_database_outages(
    make_relay: RelayFactory,
    settings: Settings,
    db: Database,
    owner_db: Database,
    tenant: CreatedKey,
) -> None:
    def published() -> bool:
        return _all_published(owner_db, tenant.tenant_id)

    def commit_event() -> None:
        _commit(db, tenant.tenant_id, envelopes=[], events=[_event(tenant.tenant_id)])

    with (
        TcpProxy(infra.PG_HOST, infra.PG_PORT) as pg_proxy,
        TcpProxy(infra.RABBIT_HOST, infra.RABBIT_PORT) as amqp_proxy,
    ):
        relay_url = make_url(settings.relay_url()).set(port=pg_proxy.port)
        relay_db = open_database(relay_url.render_as_string(hide_password=False), pool_size=2)
        broker_url = settings.broker_url.replace(
            f"{infra.RABBIT_HOST}:{infra.RABBIT_PORT}", f"127.0.0.1:{amqp_proxy.port}"
        )
        try:
            with _running(make_relay(database=relay_db, broker_url=broker_url)):
                commit_event()
                assert _wait_until(published, timeout_s=10)

                amqp_proxy.cut()
                commit_event()
                assert not _wait_until(published, timeout_s=1)
                assert any(row.last_error for row in _rows(owner_db, tenant.tenant_id))
                amqp_proxy.restore()
                assert _wait_until(published, timeout_s=10)

                pg_proxy.cut()
                commit_event()
                assert not _wait_until(published, timeout_s=1)
                pg_proxy.restore()
                assert _wait_until(published, timeout_s=10)
        finally:
            relay_db.dispose()
