"""Stopping agentfleet's processes the way an orchestrator does, and reading what they left.

Kubernetes and Docker send SIGTERM to the container's main process only (PID 1), then SIGKILL
once the grace period is over; :func:`terminate` does the same to one process of a test stack.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pika
import sqlalchemy as sa

from shared.broker.topology import declare_events_exchange
from shared.db.base import utcnow
from shared.db.database import Database
from shared.db.models import ApprovalItem, Draft, OutboxMessage, Task
from shared.events import Event, EventType
from tests.e2e.conftest import Stack, consumers_on
from tests.support.api import auth, outreach_body
from tests.support.processes import BIN, wait_until


@dataclass(frozen=True)
class Stopped:
    returncode: int
    elapsed_s: float


def terminate(stack: Stack, name: str, grace_s: float) -> Stopped:
    """SIGTERM to the main process of ``name`` alone; SIGKILL to its group after ``grace_s``.

    Fails the test when the process needed the SIGKILL.
    """
    process = stack.processes.processes.pop(name)
    started = time.monotonic()
    os.kill(process.pid, signal.SIGTERM)
    try:
        returncode = process.wait(grace_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
        tail = stack.processes.log(name)[-3000:]
        raise AssertionError(f"{name} outlived its {grace_s}s grace period\n{tail}") from None
    return Stopped(returncode, time.monotonic() - started)


def start_outreach_pool(
    stack: Stack, name: str, *, threads: int, shutdown_timeout_ms: int
) -> subprocess.Popen[bytes]:
    """One ``dramatiq`` process of the outreach pool, started as deployments start it."""
    before = consumers_on(stack.settings.broker_url, "outreach")
    argv = [str(BIN / "dramatiq"), "workers.pools.outreach", "--queues", "outreach"]
    argv += ["--processes", "1", "--threads", str(threads)]
    argv += ["--worker-shutdown-timeout", str(shutdown_timeout_ms)]
    process = stack.processes.start(name, argv, stack.env)
    wait_until(
        lambda: consumers_on(stack.settings.broker_url, "outreach") > before,
        60,
        f"{name} to consume",
    )
    return process


def set_sandbox(stack: Stack, **changes: Any) -> None:
    """Change the sandbox provider's scenario (latency, queued faults, ...) while it runs."""
    response = httpx.post(f"{stack.sandbox_url}/_sandbox/scenario", json=changes, timeout=10)
    response.raise_for_status()


def reset_sandbox(stack: Stack) -> None:
    httpx.post(f"{stack.sandbox_url}/_sandbox/reset", timeout=10).raise_for_status()


def submit_outreach(stack: Stack, token: str, contact_ids: list[uuid.UUID]) -> list[uuid.UUID]:
    """One outreach task per contact, through the API (outbox, relay, queue)."""
    ids = []
    with httpx.Client(base_url=stack.api_url, headers=auth(token), timeout=10) as client:
        for contact_id in contact_ids:
            accepted = client.post("/v1/tasks", json=outreach_body(contact_id))
            assert accepted.status_code == 202, accepted.text
            ids.append(uuid.UUID(accepted.json()["id"]))
    return ids


def tasks_by_status(
    db: Database, tenant_id: uuid.UUID, task_ids: list[uuid.UUID]
) -> dict[str, set[uuid.UUID]]:
    with db.unit_of_work(tenant_id) as uow:
        rows = uow.session.execute(
            sa.select(Task.id, Task.status).where(Task.id.in_(task_ids))
        ).all()
    found: dict[str, set[uuid.UUID]] = {}
    for row in rows:
        found.setdefault(row.status, set()).add(row.id)
    return found


def count_status(db: Database, tenant_id: uuid.UUID, task_ids: list[uuid.UUID], status: str) -> int:
    return len(tasks_by_status(db, tenant_id, task_ids).get(status, set()))


def attempts(db: Database, tenant_id: uuid.UUID, task_ids: list[uuid.UUID]) -> list[int]:
    with db.unit_of_work(tenant_id) as uow:
        return list(uow.session.scalars(sa.select(Task.attempts).where(Task.id.in_(task_ids))))


def effects_per_task(
    db: Database, owner_db: Database, tenant_id: uuid.UUID, task_ids: list[uuid.UUID]
) -> dict[uuid.UUID, tuple[int, int, int]]:
    """Drafts, approval items and ``task.completed`` events written for each task."""
    with db.unit_of_work(tenant_id) as uow:
        drafts = Counter(
            uow.session.scalars(sa.select(Draft.task_id).where(Draft.task_id.in_(task_ids)))
        )
        items = Counter(
            uow.session.scalars(
                sa.select(ApprovalItem.task_id).where(ApprovalItem.task_id.in_(task_ids))
            )
        )
    with owner_db.unit_of_work() as uow:
        completed = Counter(
            uuid.UUID(aggregate)
            for aggregate in uow.session.scalars(
                sa.select(OutboxMessage.payload["aggregate_id"].as_string()).where(
                    OutboxMessage.tenant_id == tenant_id,
                    OutboxMessage.destination == EventType.TASK_COMPLETED.value,
                )
            )
        )
    return {t: (drafts[t], items[t], completed[t]) for t in task_ids}


def record_events(db: Database, tenant_id: uuid.UUID, count: int) -> set[str]:
    """``count`` events committed to the outbox at once; returns their event ids."""
    events = [
        Event(
            event_type=EventType.TASK_QUEUED,
            tenant_id=tenant_id,
            aggregate_type="task",
            aggregate_id=uuid.uuid4(),
            payload={"note": "shutdown test"},
        )
        for _ in range(count)
    ]
    with db.unit_of_work(tenant_id) as uow:
        for event in events:
            uow.record(event)
        uow.commit()
    return {str(event.event_id) for event in events}


class PublishedEvents:
    """Ids of the events one tenant's outbox rows put on the events exchange, every copy."""

    def __init__(self, broker_url: str, exchange: str, tenant_id: uuid.UUID) -> None:
        self._tenant = str(tenant_id)
        self._connection = pika.BlockingConnection(pika.URLParameters(broker_url))
        self._channel = self._connection.channel()
        declare_events_exchange(self._channel, exchange)
        self._queue = self._channel.queue_declare("", exclusive=True).method.queue
        self._channel.queue_bind(self._queue, exchange, routing_key="#")
        self.ids: list[str] = []

    def wait_for(self, expected: set[str], timeout_s: float) -> list[str]:
        """Read until every expected id arrived and the queue is empty; every copy read."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            method, _properties, body = self._channel.basic_get(self._queue, auto_ack=True)
            if method is not None:
                event = json.loads(body)
                if event["tenant_id"] == self._tenant:
                    self.ids.append(event["event_id"])
            elif expected <= set(self.ids):
                return self.ids
            else:
                self._connection.sleep(0.05)
        raise AssertionError(f"{len(expected - set(self.ids))} events never arrived")

    def close(self) -> None:
        if self._connection.is_open:
            self._connection.close()


@dataclass(frozen=True)
class OutboxState:
    published: int
    claimed: int
    """Claimed by a relay under an unexpired lease and not published (yet)."""
    waiting: int


def outbox_state(owner_db: Database, tenant_id: uuid.UUID) -> OutboxState:
    now = utcnow()
    with owner_db.unit_of_work() as uow:
        rows = uow.session.execute(
            sa.select(OutboxMessage.published_at, OutboxMessage.claimed_until).where(
                OutboxMessage.tenant_id == tenant_id
            )
        ).all()
    published = sum(1 for row in rows if row.published_at is not None)
    claimed = sum(
        1
        for row in rows
        if row.published_at is None and row.claimed_until is not None and row.claimed_until > now
    )
    return OutboxState(published, claimed, len(rows) - published - claimed)


def hold_tasks(db: Database, tenant_id: uuid.UUID, count: int) -> list[uuid.UUID]:
    """``count`` scoring tasks held in Postgres and already due, for the scheduler to send."""
    due = utcnow() - timedelta(minutes=1)
    ids = [uuid.uuid4() for _ in range(count)]
    with db.unit_of_work(tenant_id) as uow:
        uow.session.add_all(
            Task(
                id=task_id,
                tenant_id=tenant_id,
                agent_type="scoring",
                task_type="score_records",
                input={"account_id": str(uuid.uuid4())},
                scheduled_at=due,
            )
            for task_id in ids
        )
        uow.commit()
    return ids


def dispatches(
    owner_db: Database, tenant_id: uuid.UUID, task_ids: list[uuid.UUID]
) -> Counter[uuid.UUID]:
    """Task messages written to the outbox for each task."""
    with owner_db.unit_of_work() as uow:
        payloads = uow.session.scalars(
            sa.select(OutboxMessage.payload).where(
                OutboxMessage.tenant_id == tenant_id, OutboxMessage.kind == "task"
            )
        )
        sent = Counter(uuid.UUID(payload["task_id"]) for payload in payloads)
    return Counter({task_id: sent[task_id] for task_id in task_ids})


def refuses_connections(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return False
    except ConnectionRefusedError:
        return True


def read_response(sock: socket.socket, timeout_s: float) -> tuple[int, bytes]:
    """Status and body of the HTTP/1.1 response on ``sock``, read until the server closes it."""
    sock.settimeout(timeout_s)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head else 0
    return status, body
