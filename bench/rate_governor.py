"""Rate governor vs Dramatiq's own rate limiters, under the same load, in one run.

``python -m bench.rate_governor``: a sandbox provider process enforcing 10 requests/s (an
OpenAI-style bucket, ``--requests-per-minute 600``, held empty until each run starts so
that it answers 429 to anything above 10/s instead of lending its 600-request burst), then
for 2 and for 4 worker processes (``bench/rate_load.py``: Dramatiq workers, 4 threads each,
a backlog of twice what the limit lets through) sharing a 10/s limit through Redis:

* ``RedisCallGate``;
* Dramatiq ``WindowRateLimiter(limit=10, window=1)`` and ``BucketRateLimiter(limit=10,
  bucket=1000)`` on ``RedisBackend``, used as an actor uses them (``with
  limiter.acquire():``; a rejection raises and the Retries middleware retries the message).

Prints, for each: utilisation (successful requests / allowed), the most requests the
provider received in any 1-second window, its 429s, and rejections (retries spent),
deferrals (no retry spent) and dead-lettered messages.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import redis

from bench.rate_load import RESULT_MARKER
from tests.support import infra
from tests.support.processes import ProcessGroup, http_ok, process_group, wait_until
from tests.support.rate_sandbox import arrivals, max_in_any_window
from tests.support.servers import free_port

MODES = {
    "gate": "RedisCallGate",
    "window": "dramatiq WindowRateLimiter",
    "bucket": "dramatiq BucketRateLimiter",
}
STARTUP_S = 4.0
# The sandbox's bucket is kept empty until shortly before each start; this much refills.
DRAIN_LEAD_S = 0.15
DRAIN_MODEL = "bench-drain"  # tells the drain's requests from the measured ones
REDIS_URL = f"redis://{infra.REDIS_HOST}:{infra.REDIS_PORT}/0"


@dataclass(frozen=True)
class Run:
    mode: str
    processes: int
    ok: int
    allowed: int
    max_per_s: int
    status_429: int
    rejected: int
    deferred: int
    dead_lettered: int


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per run")
    parser.add_argument("--rate", type=int, default=10, help="requests per second allowed")
    parser.add_argument("--threads", type=int, default=4, help="worker threads per process")
    parser.add_argument("--processes", default="2,4", help="process counts to measure")
    parser.add_argument("--modes", default=",".join(MODES), help="limiters to measure")
    args = parser.parse_args(argv)
    redis.Redis.from_url(REDIS_URL).ping()

    logs = Path(tempfile.mkdtemp(prefix="agentfleet-rate-bench-"))
    runs: list[Run] = []
    with process_group(logs) as group:
        port = free_port()
        sandbox = f"http://127.0.0.1:{port}"
        argv_sandbox = [sys.executable, "-m", "services.sandbox", "--port", str(port)]
        argv_sandbox += ["--requests-per-minute", str(args.rate * 60)]
        group.start("sandbox", argv_sandbox, env=dict(os.environ))
        wait_until(http_ok(f"{sandbox}/healthz"), 30, "the sandbox provider")
        for processes in (int(n) for n in args.processes.split(",")):
            for mode in args.modes.split(","):
                runs.append(measure(group, sandbox, mode, processes, args))
                print(_row(runs[-1]), flush=True)
    print(
        f"\n{args.duration:g} s per run, {args.threads} threads per process, limit "
        f"{args.rate}/s shared through Redis; sandbox --requests-per-minute {args.rate * 60} "
        f"(bucket emptied before each run); logs in {logs}"
    )
    return 0


def measure(
    group: ProcessGroup, sandbox: str, mode: str, processes: int, args: argparse.Namespace
) -> Run:
    """One run of ``processes`` workers limited by ``mode``."""
    prefix = f"bench-rate-{uuid.uuid4().hex}"
    httpx.post(f"{sandbox}/_sandbox/reset", timeout=10).raise_for_status()
    start_at = time.time() + STARTUP_S
    backlog = math.ceil(2 * args.rate * args.duration / processes)
    names = [f"{mode}-{processes}-{n}" for n in range(processes)]
    for name in names:
        group.start(
            name,
            [
                *(sys.executable, "-m", "bench.rate_load", f"--mode={mode}"),
                f"--base-url={sandbox}/v1",
                f"--redis-url={REDIS_URL}",
                f"--key-prefix={prefix}",
                f"--rate={args.rate}",
                f"--threads={args.threads}",
                f"--backlog={backlog}",
                f"--start-at={start_at}",
                f"--duration={args.duration}",
            ],
            env=dict(os.environ),
        )
    _hold_bucket_empty(sandbox, until=start_at - DRAIN_LEAD_S)
    counts: dict[str, int] = {}
    for name in names:
        group.processes[name].wait(timeout=STARTUP_S + args.duration + 60)
        for key, value in _result(group.log(name)).items():
            counts[key] = counts.get(key, 0) + value
        group.stop(name)
    _delete_keys(prefix)
    sent = [a for a in arrivals(sandbox) if a.model != DRAIN_MODEL]
    return Run(
        mode=mode,
        processes=processes,
        ok=sum(1 for a in sent if a.status == 200),
        allowed=round(args.rate * args.duration),
        max_per_s=max_in_any_window([a.at for a in sent], 1.0),
        status_429=sum(1 for a in sent if a.status == 429),
        rejected=counts.get("rejected", 0),
        deferred=counts.get("deferred", 0),
        dead_lettered=counts.get("dead_lettered", 0),
    )


def _hold_bucket_empty(sandbox: str, *, until: float) -> None:
    """Spend the sandbox's request bucket and keep it empty until ``until`` (epoch s)."""
    body = {"model": DRAIN_MODEL, "messages": [{"role": "user", "content": "drain"}]}
    headers = {"Authorization": "Bearer sandbox-key"}
    with httpx.Client(base_url=sandbox, headers=headers, timeout=10) as client:
        while time.time() < until:
            client.post("/v1/chat/completions", json=body)


def _result(log: str) -> dict[str, int]:
    lines = [line for line in log.splitlines() if line.startswith(RESULT_MARKER)]
    if not lines:
        raise RuntimeError(f"a worker printed no result:\n{log[-3000:]}")
    counts: dict[str, int] = json.loads(lines[-1].removeprefix(RESULT_MARKER))
    return counts


def _delete_keys(prefix: str) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    keys = list(client.scan_iter(match=f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def _row(run: Run) -> str:
    return (
        f"{MODES[run.mode]:<28} {run.processes} processes: utilisation "
        f"{run.ok / run.allowed:6.1%} ({run.ok}/{run.allowed}), max {run.max_per_s:3d} in any 1 s, "
        f"429s {run.status_429:3d}, rejections (retries spent) {run.rejected:5d}, "
        f"deferrals {run.deferred:3d}, dead-lettered {run.dead_lettered:4d}"
    )


if __name__ == "__main__":
    sys.exit(main())
