"""Acceptance: two worker processes sharing 10 requests/s through Redis never exceed it.

The sandbox provider runs as its own process with no limit of its own; it records when each
request arrived, and the windows are counted from those times. Each worker process runs
several threads looping acquire → chat completion → release (tests/support/rate_worker.py).
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.support import infra
from tests.support.processes import ProcessGroup, http_ok, process_group, wait_until
from tests.support.rate_sandbox import arrivals, max_in_any_window
from tests.support.rate_worker import RESULT_MARKER
from tests.support.servers import free_port

pytestmark = pytest.mark.integration

RATE = 10  # requests per second, shared by every process
DURATION_S = 20.0
PROCESSES, THREADS = 2, 4
STARTUP_S = 4.0  # time for the workers to import and connect before the common start


@pytest.fixture
def key_prefix() -> Iterator[str]:
    infra.require_services()
    prefix = f"test-rate-accept-{uuid.uuid4().hex}"
    yield prefix
    client = redis.Redis(host=infra.REDIS_HOST, port=infra.REDIS_PORT)
    keys = list(client.scan_iter(match=f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[ProcessGroup]:
    with process_group(tmp_path) as group:
        yield group


def test_two_processes_share_ten_requests_per_second(
    processes: ProcessGroup, key_prefix: str
) -> None:
    port = free_port()
    sandbox_url = f"http://127.0.0.1:{port}"
    processes.start(
        "sandbox",
        [sys.executable, "-m", "services.sandbox", "--port", str(port)],
        env=dict(os.environ),
    )
    wait_until(http_ok(f"{sandbox_url}/healthz"), 20, "the sandbox provider")

    start_at = time.time() + STARTUP_S
    names = [f"worker-{n}" for n in range(PROCESSES)]
    for name in names:
        processes.start(name, worker_argv(sandbox_url, key_prefix, start_at), env=dict(os.environ))
    summaries = []
    for name in names:
        code = processes.processes[name].wait(timeout=STARTUP_S + DURATION_S + 30)
        assert code == 0, processes.log(name)[-3000:]
        summaries.append(result_of(processes.log(name)))

    recorded = arrivals(sandbox_url)
    times = [arrival.at for arrival in recorded]
    statuses = {arrival.status for arrival in recorded}

    assert statuses == {200}, f"sandbox answered {statuses}; workers saw {summaries}"
    assert max_in_any_window(times, 1.0) <= RATE
    assert len(times) >= 0.95 * RATE * DURATION_S, f"only {len(times)} requests"
    assert sum(summary.get("ok", 0) for summary in summaries) == len(times)
    assert all(summary.get("ok", 0) > 0 for summary in summaries), "one process starved"


def worker_argv(sandbox_url: str, key_prefix: str, start_at: float) -> list[str]:
    return [
        sys.executable,
        "-m",
        "tests.support.rate_worker",
        f"--base-url={sandbox_url}/v1",
        f"--redis-url=redis://{infra.REDIS_HOST}:{infra.REDIS_PORT}/0",
        f"--key-prefix={key_prefix}",
        f"--requests-per-second={RATE}",
        f"--threads={THREADS}",
        f"--start-at={start_at}",
        f"--duration={DURATION_S}",
    ]


def result_of(log: str) -> dict[str, int]:
    lines = [line for line in log.splitlines() if line.startswith(RESULT_MARKER)]
    assert lines, f"no result line in the worker's output:\n{log[-3000:]}"
    counts: dict[str, int] = json.loads(lines[-1].removeprefix(RESULT_MARKER))
    return counts
