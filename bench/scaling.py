"""Horizontal scaling: the same outreach load with 1 and with 2 worker processes in the pool.

Each configuration runs the whole pipeline (API → outbox → relays → RabbitMQ → ``dramatiq``
outreach pool → sandbox LLM over HTTP → Postgres) on a fresh tenant, in one run against the
same database and broker. The sandbox answers each LLM call after ``--latency-ms`` (a real
model takes seconds), so a worker thread spends most of a task waiting, as in production;
adding a process adds threads that wait in parallel. The 1-process figure is the baseline.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bench.throughput import _settings, measure_pipeline
from shared.db.migrate import upgrade_database
from tests.support import infra

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=160)
    parser.add_argument("--threads", type=int, default=2, help="threads per worker process")
    parser.add_argument("--clients", type=int, default=8, help="concurrent API clients")
    parser.add_argument("--latency-ms", type=int, default=1000, help="sandbox LLM latency")
    args = parser.parse_args(argv)

    infra.require_services()
    resources = infra.new_run_resources()
    infra.create_database(resources.database)
    infra.create_vhost(resources.vhost)
    logs = Path(tempfile.mkdtemp(prefix="agentfleet-scaling-"))
    configurations = [(1, 1), (2, 2)]  # (worker processes, relays)
    results: list[tuple[int, int, float]] = []
    try:
        upgrade_database(infra.owner_url(resources.database))
        settings = _settings(resources)
        for processes, relays in configurations:
            rate = measure_pipeline(
                settings,
                args.tasks,
                args.threads,
                args.clients,
                logs,
                processes=processes,
                relays=relays,
                latency_ms=args.latency_ms,
            )
            results.append((processes, relays, rate))
    finally:
        infra.drop_database(resources.database)
        infra.delete_vhost(resources.vhost)
    baseline = results[0][2]
    print(
        f"\n{args.tasks} outreach tasks, {args.threads} threads per worker process, "
        f"sandbox LLM latency {args.latency_ms} ms"
    )
    print("| worker processes | relays | tasks/s | vs 1 process |")
    print("|---|---|---|---|")
    for processes, relays, rate in results:
        print(f"| {processes} | {relays} | {rate:.1f} | {rate / baseline:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
