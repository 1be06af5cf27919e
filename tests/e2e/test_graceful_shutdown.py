"""Graceful shutdown, as an orchestrator stops each process: SIGTERM to its main process,
SIGKILL once the grace period is over.

Worker pools run exactly as deployed (``dramatiq workers.pools.outreach ...
--worker-shutdown-timeout``) against the sandbox LLM slowed down, so tasks are in flight and
others still queued when the signal arrives. Every process must exit 0 within its grace period
and every task, outbox row and accepted request must still come out exactly once.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
import uuid
from collections.abc import Iterator

import pytest

from services.demo.seed import SeededTarget, seed_sample_crm
from shared.db.database import Database
from shared.tenancy import CreatedKey
from tests.e2e.conftest import Stack
from tests.support.api import outreach_body
from tests.support.infra import messages_held
from tests.support.processes import BIN, http_ok, wait_until
from tests.support.servers import free_port
from tests.support.shutdown import (
    PublishedEvents,
    attempts,
    count_status,
    dispatches,
    effects_per_task,
    hold_tasks,
    outbox_state,
    read_response,
    record_events,
    refuses_connections,
    reset_sandbox,
    set_sandbox,
    start_outreach_pool,
    submit_outreach,
    tasks_by_status,
    terminate,
)

pytestmark = pytest.mark.e2e

# What deployments use: Dramatiq waits this long for running tasks, and the orchestrator's
# grace period leaves room for the consumers to close and the process to exit after it.
SHUTDOWN_TIMEOUT_MS = 15_000
GRACE_S = 20.0
LLM_LATENCY_MS = 2_000
EVENTS = 200


@pytest.fixture(scope="module")
def pools(stack: Stack) -> Stack:
    """The stack without its default outreach worker: each test starts the pools it needs."""
    stack.processes.stop("outreach")
    return stack


@pytest.fixture
def started(pools: Stack) -> Iterator[list[str]]:
    """Names of the processes a test starts; whatever is still running is stopped after it."""
    names: list[str] = []
    yield names
    for name in names:
        if name in pools.processes.processes:
            pools.processes.stop(name)
    reset_sandbox(pools)


@pytest.fixture
def own_relay(pools: Stack, tenant: CreatedKey) -> Iterator[PublishedEvents]:
    """The stack's relay stopped for the test (the tenant's events watched), running after it."""
    settings = pools.settings
    tap = PublishedEvents(settings.broker_url, settings.events_exchange, tenant.tenant_id)
    try:
        assert terminate(pools, "relay", 10).returncode == 0, "the idle relay stops as well"
        yield tap
    finally:
        tap.close()
        if "relay" not in pools.processes.processes:
            pools.start_relay()


@pytest.fixture
def crm(db: Database, tenant: CreatedKey) -> list[SeededTarget]:
    return seed_sample_crm(db, tenant.tenant_id, contacts=8)


def _vhost(stack: Stack) -> str:
    return stack.settings.broker_url.rsplit("/", 1)[1]


def _wait_all_completed(
    stack: Stack, db: Database, tenant_id: uuid.UUID, task_ids: list[uuid.UUID], timeout_s: float
) -> None:
    def done() -> bool:
        stack.processes.assert_running()
        return count_status(db, tenant_id, task_ids, "completed") == len(task_ids)

    wait_until(done, timeout_s, f"{len(task_ids)} tasks to complete", poll_s=0.3)


def _assert_each_ran_once(
    stack: Stack,
    db: Database,
    owner_db: Database,
    tenant_id: uuid.UUID,
    task_ids: list[uuid.UUID],
) -> None:
    """One draft, one approval item and one ``task.completed`` per task; the queue is empty."""
    assert tasks_by_status(db, tenant_id, task_ids) == {"completed": set(task_ids)}
    effects = effects_per_task(db, owner_db, tenant_id, task_ids)
    assert effects == dict.fromkeys(task_ids, (1, 1, 1))
    wait_until(lambda: messages_held(_vhost(stack), "outreach") == 0, 10, "an empty queue")


def test_a_pool_finishes_its_tasks_exits_0_and_leaves_the_queued_ones_for_its_restart(
    pools: Stack,
    started: list[str],
    db: Database,
    owner_db: Database,
    tenant: CreatedKey,
    crm: list[SeededTarget],
) -> None:
    stack, tenant_id = pools, tenant.tenant_id
    set_sandbox(stack, latency_ms=LLM_LATENCY_MS)
    started.append("outreach-a")
    start_outreach_pool(stack, "outreach-a", threads=4, shutdown_timeout_ms=SHUTDOWN_TIMEOUT_MS)
    task_ids = submit_outreach(stack, tenant.token, [target.contact_id for target in crm])
    wait_until(lambda: count_status(db, tenant_id, task_ids, "in_progress") == 4, 30, "4 running")
    in_flight = tasks_by_status(db, tenant_id, task_ids)["in_progress"]

    stopped = terminate(stack, "outreach-a", GRACE_S)

    assert stopped.returncode == 0, stack.processes.log("outreach-a")[-3000:]
    assert stopped.elapsed_s < SHUTDOWN_TIMEOUT_MS / 1000, "it finished, not timed out"
    after = tasks_by_status(db, tenant_id, task_ids)
    assert after.keys() == {"completed", "pending"}, "nothing left running or failed"
    assert in_flight <= after["completed"], "what it held when signalled, it finished"
    queued = len(after["pending"])
    wait_until(lambda: messages_held(_vhost(stack), "outreach") == queued, 10, "requeued messages")

    started.append("outreach-b")
    start_outreach_pool(stack, "outreach-b", threads=4, shutdown_timeout_ms=SHUTDOWN_TIMEOUT_MS)
    _wait_all_completed(stack, db, tenant_id, task_ids, 60)
    _assert_each_ran_once(stack, db, owner_db, tenant_id, task_ids)
    assert attempts(db, tenant_id, task_ids) == [1] * len(task_ids)


def test_a_second_pool_takes_over_what_a_stopping_pool_held(
    pools: Stack,
    started: list[str],
    db: Database,
    owner_db: Database,
    tenant: CreatedKey,
    crm: list[SeededTarget],
) -> None:
    stack, tenant_id = pools, tenant.tenant_id
    set_sandbox(stack, latency_ms=LLM_LATENCY_MS)
    started += ["outreach-a", "outreach-b"]
    start_outreach_pool(stack, "outreach-a", threads=2, shutdown_timeout_ms=SHUTDOWN_TIMEOUT_MS)
    start_outreach_pool(stack, "outreach-b", threads=2, shutdown_timeout_ms=SHUTDOWN_TIMEOUT_MS)
    task_ids = submit_outreach(stack, tenant.token, [target.contact_id for target in crm])
    wait_until(lambda: count_status(db, tenant_id, task_ids, "in_progress") == 4, 30, "4 running")

    stopped = terminate(stack, "outreach-a", GRACE_S)

    assert stopped.returncode == 0, stack.processes.log("outreach-a")[-3000:]
    assert stopped.elapsed_s < SHUTDOWN_TIMEOUT_MS / 1000
    assert count_status(db, tenant_id, task_ids, "in_progress") <= 2, "only b's tasks run"
    _wait_all_completed(stack, db, tenant_id, task_ids, 60)
    _assert_each_ran_once(stack, db, owner_db, tenant_id, task_ids)


def test_a_task_outlasting_the_shutdown_timeout_is_redelivered_and_completes_once(
    pools: Stack,
    started: list[str],
    db: Database,
    owner_db: Database,
    tenant: CreatedKey,
    crm: list[SeededTarget],
) -> None:
    stack, tenant_id = pools, tenant.tenant_id
    timeout_ms = 2_000
    set_sandbox(stack, latency_ms=8_000)
    started.append("outreach-a")
    start_outreach_pool(stack, "outreach-a", threads=2, shutdown_timeout_ms=timeout_ms)
    task_ids = submit_outreach(stack, tenant.token, [target.contact_id for target in crm[:2]])
    wait_until(lambda: count_status(db, tenant_id, task_ids, "in_progress") == 2, 30, "2 running")

    stopped = terminate(stack, "outreach-a", timeout_ms / 1000 + 5)

    # Dramatiq's own exit status when the timeout expires with messages still running: 0.
    # Their worker threads are abandoned; closing the consumer connection returned the
    # unacknowledged messages to RabbitMQ, and the task rows stay in progress (not failed).
    assert stopped.returncode == 0, stack.processes.log("outreach-a")[-3000:]
    assert stopped.elapsed_s >= timeout_ms / 1000
    assert count_status(db, tenant_id, task_ids, "in_progress") == 2
    wait_until(lambda: messages_held(_vhost(stack), "outreach") == 2, 10, "2 messages requeued")

    reset_sandbox(stack)
    started.append("outreach-b")
    start_outreach_pool(stack, "outreach-b", threads=2, shutdown_timeout_ms=timeout_ms)
    _wait_all_completed(stack, db, tenant_id, task_ids, 30)
    _assert_each_ran_once(stack, db, owner_db, tenant_id, task_ids)
    assert attempts(db, tenant_id, task_ids) == [2, 2], "each ran again after its redelivery"


def _relay_env(stack: Stack, **overrides: str) -> dict[str, str]:
    return {**stack.env, "AGENTFLEET_OUTBOX_BATCH_SIZE": "20", **overrides}


def test_a_relay_stopped_mid_backlog_exits_0_and_strands_no_row(
    pools: Stack,
    started: list[str],
    own_relay: PublishedEvents,
    db: Database,
    owner_db: Database,
    tenant: CreatedKey,
) -> None:
    stack, tenant_id = pools, tenant.tenant_id
    event_ids = record_events(db, tenant_id, EVENTS)
    started.append("relay-a")
    stack.processes.start("relay-a", [str(BIN / "agentfleet"), "relay"], _relay_env(stack))
    wait_until(lambda: outbox_state(owner_db, tenant_id).published >= 40, 30, "publishing")

    stopped = terminate(stack, "relay-a", 10)

    assert stopped.returncode == 0, stack.processes.log("relay-a")[-3000:]
    assert stopped.elapsed_s < 5
    state = outbox_state(owner_db, tenant_id)
    assert state.claimed == 0, "the batch in hand was published and marked before exit"
    assert state.waiting > 0, "the signal came mid-backlog"

    stack.start_relay()
    wait_until(lambda: outbox_state(owner_db, tenant_id).published == EVENTS, 60, "all rows")
    received = own_relay.wait_for(event_ids, 30)
    assert sorted(received) == sorted(event_ids), "every event exactly once"


def test_a_relay_killed_mid_batch_leaves_rows_another_relay_publishes_after_the_lease(
    pools: Stack,
    started: list[str],
    own_relay: PublishedEvents,
    db: Database,
    owner_db: Database,
    tenant: CreatedKey,
) -> None:
    stack, tenant_id = pools, tenant.tenant_id
    event_ids = record_events(db, tenant_id, EVENTS)
    env = _relay_env(stack, AGENTFLEET_OUTBOX_CLAIM_TTL_S="3")
    started.append("relay-a")
    relay = stack.processes.start("relay-a", [str(BIN / "agentfleet"), "relay"], env)
    wait_until(lambda: outbox_state(owner_db, tenant_id).published >= 40, 30, "publishing")
    _freeze_holding_a_claim(relay.pid, owner_db, tenant_id)
    os.killpg(relay.pid, signal.SIGKILL)
    relay.wait(10)
    assert outbox_state(owner_db, tenant_id).claimed > 0

    stack.start_relay()
    wait_until(lambda: outbox_state(owner_db, tenant_id).published == EVENTS, 60, "all rows")
    received = own_relay.wait_for(event_ids, 30)
    assert set(received) == event_ids, "at least once: the killed batch may go out twice"


def _freeze_holding_a_claim(pid: int, owner_db: Database, tenant_id: uuid.UUID) -> None:
    """Stop the relay (SIGSTOP) at a moment it holds claimed, unpublished rows."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        os.kill(pid, signal.SIGSTOP)
        if outbox_state(owner_db, tenant_id).claimed:
            return
        os.kill(pid, signal.SIGCONT)
        time.sleep(0.02)
    raise AssertionError("the relay never held a claim")


def test_a_scheduler_stopped_with_due_work_exits_0_and_each_held_task_goes_out_once(
    pools: Stack, started: list[str], db: Database, owner_db: Database, tenant: CreatedKey
) -> None:
    stack, tenant_id = pools, tenant.tenant_id
    task_ids = hold_tasks(db, tenant_id, 60)
    env = {**stack.env, "AGENTFLEET_SCHEDULER_BATCH_SIZE": "1"}
    started += ["scheduler-a", "scheduler-b"]
    stack.processes.start("scheduler-a", [str(BIN / "agentfleet"), "scheduler"], env)
    wait_until(lambda: sum(dispatches(owner_db, tenant_id, task_ids).values()) > 0, 30, "work")

    stopped = terminate(stack, "scheduler-a", 10)

    assert stopped.returncode == 0, stack.processes.log("scheduler-a")[-3000:]
    assert stopped.elapsed_s < 5
    assert "scheduler.stopped" in stack.processes.log("scheduler-a")
    stack.processes.start("scheduler-b", [str(BIN / "agentfleet"), "scheduler"], env)
    wait_until(
        lambda: all(dispatches(owner_db, tenant_id, task_ids).values()), 30, "every dispatch"
    )
    assert set(dispatches(owner_db, tenant_id, task_ids).values()) == {1}


def _start_api(stack: Stack, started: list[str], name: str, grace_s: int) -> int:
    port = free_port()
    argv = [str(BIN / "agentfleet"), "api", "--port", str(port), "--grace-s", str(grace_s)]
    started.append(name)
    stack.processes.start(name, argv, stack.env)
    wait_until(http_ok(f"http://127.0.0.1:{port}/readyz"), 30, f"{name} ready")
    return port


def _begin_post(port: int, token: str, body: bytes, sent: int) -> socket.socket:
    """A ``POST /v1/tasks`` whose body has arrived only in part."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    head = (
        "POST /v1/tasks HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Authorization: Bearer {token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    sock.sendall(head + body[:sent])
    return sock


def test_the_api_answers_a_request_in_flight_drops_a_stalled_one_after_its_grace_and_exits_0(
    pools: Stack,
    started: list[str],
    db: Database,
    tenant: CreatedKey,
    crm: list[SeededTarget],
) -> None:
    stack, grace_s = pools, 3
    port = _start_api(stack, started, "api-drain", grace_s=grace_s)
    body = json.dumps(outreach_body(crm[0].contact_id)).encode()
    in_flight = _begin_post(port, tenant.token, body, sent=10)
    stalled = _begin_post(port, tenant.token, body, sent=10)
    try:
        time.sleep(1)  # uvicorn reads the headers and starts both requests
        process = stack.processes.processes["api-drain"]
        signalled = time.monotonic()
        os.kill(process.pid, signal.SIGTERM)
        wait_until(lambda: refuses_connections(port), 5, "the API to stop taking connections")
        assert process.poll() is None, "still draining the requests in flight"

        in_flight.sendall(body[10:])
        status, answer = read_response(in_flight, timeout_s=10)
        returncode = process.wait(grace_s + 10)
        elapsed_s = time.monotonic() - signalled
    finally:
        in_flight.close()
        stalled.close()

    assert status == 202, answer
    task_id = uuid.UUID(json.loads(answer)["id"])
    assert tasks_by_status(db, tenant.tenant_id, [task_id]) == {"pending": {task_id}}
    assert returncode == 0, stack.processes.log("api-drain")[-3000:]
    assert grace_s <= elapsed_s < grace_s + 5, "waited for the stalled request, within bounds"
    assert "api.exited" in stack.processes.log("api-drain")
