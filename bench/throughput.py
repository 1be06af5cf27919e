"""Throughput of the outreach pipeline against the bare stack, measured in one run.

Pipeline: N tasks POSTed to the API → outbox → relay → RabbitMQ → outreach worker (``dramatiq``
CLI) → sandbox LLM over HTTP at zero latency → draft, approval item and events in Postgres.
Bare stack: N messages to a no-op Dramatiq actor doing two inserts each, same broker and
database. Prints tasks/s for both and the ratio pipeline / bare.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import dramatiq
import httpx
import sqlalchemy as sa

from services.demo.seed import seed_sample_crm
from shared.db.database import open_database
from shared.db.migrate import upgrade_database
from shared.db.models import Task
from shared.settings import Settings
from shared.tenancy import create_api_key, create_tenant
from tests.support import infra
from tests.support.processes import BIN, ProcessGroup, http_ok, settings_environment, wait_until
from tests.support.servers import free_port

ENCRYPTION_KEY = "bench-encryption-key-0123456789abcdef0123"
BARE_QUEUE = "bench_bare"
BARE_TABLE = "bench_bare_rows"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tasks", type=int, default=400)
    parser.add_argument("--threads", type=int, default=8, help="worker threads per pool")
    parser.add_argument("--clients", type=int, default=8, help="concurrent API clients")
    args = parser.parse_args(argv)

    infra.require_services()
    resources = infra.new_run_resources()
    infra.create_database(resources.database)
    infra.create_vhost(resources.vhost)
    logs = Path(tempfile.mkdtemp(prefix="agentfleet-bench-"))
    try:
        upgrade_database(infra.owner_url(resources.database))
        settings = _settings(resources)
        bare = measure_bare(settings, args.tasks, args.threads, logs)
        pipeline = measure_pipeline(settings, args.tasks, args.threads, args.clients, logs)
    finally:
        infra.drop_database(resources.database)
        infra.delete_vhost(resources.vhost)
    print(f"\nbare stack (no-op actor, 2 inserts/message): {bare:8.1f} tasks/s")
    print(f"outreach pipeline (API → relay → worker → LLM → Postgres): {pipeline:8.1f} tasks/s")
    print(
        f"ratio pipeline / bare: {pipeline / bare:.2f}   ({args.tasks} tasks, "
        f"{args.threads} worker threads, 1 worker process; logs in {logs})"
    )
    return 0


def _settings(resources: infra.RunResources, **overrides: object) -> Settings:
    return Settings(
        database_url=infra.role_url(resources.database, "agentfleet_app"),
        relay_database_url=infra.role_url(resources.database, "agentfleet_relay"),
        migration_database_url=infra.owner_url(resources.database),
        broker_url=infra.broker_url(resources.vhost),
        encryption_key=ENCRYPTION_KEY,
        log_level="WARNING",
        metrics_port=0,
        **overrides,  # type: ignore[arg-type]
    )


def measure_bare(settings: Settings, count: int, threads: int, logs: Path) -> float:
    queue, table = BARE_QUEUE, BARE_TABLE
    engine = sa.create_engine(settings.migration_url())
    with engine.begin() as connection:
        connection.execute(
            sa.text(f"CREATE TABLE {table} (id uuid PRIMARY KEY, step text, payload text)")
        )
    env = settings_environment(settings)
    group = ProcessGroup(logs)
    try:
        group.start("bare", _dramatiq("bench.bare_pool", queue, threads), env)
        broker = _publishing_broker(settings)
        _wait_for_consumer(broker, queue, group)
        started = time.perf_counter()
        for index in range(count):
            broker.enqueue(
                dramatiq.Message(
                    queue_name=queue, actor_name=queue, args=({"n": index},), kwargs={}, options={}
                )
            )
        wait_until(lambda: _count(engine, table) >= 2 * count, 600, "the bare stack", 0.05)
        elapsed = time.perf_counter() - started
        broker.close()
    finally:
        group.stop_all()
        engine.dispose()
    return count / elapsed


def measure_pipeline(
    settings: Settings,
    count: int,
    threads: int,
    clients: int,
    logs: Path,
    *,
    processes: int = 1,
    relays: int = 1,
    latency_ms: int = 0,
) -> float:
    """Tasks per second through the whole pipeline, with ``processes`` outreach worker
    processes of ``threads`` threads, ``relays`` relays and the sandbox LLM answering after
    ``latency_ms``."""
    sandbox_port, api_port = free_port(), free_port()
    settings = settings.model_copy(
        update={
            "openai_base_url": f"http://127.0.0.1:{sandbox_port}/v1",
            "db_pool_size": threads + 4,
            # The stack is measured, not a provider plan: every call still takes its slot
            # from the rate governor, whose limits sit far above what the machine reaches.
            "openai_requests_per_minute": 600_000,
            "openai_tokens_per_minute": 1_000_000_000,
        }
    )
    env = settings_environment(settings)
    group = ProcessGroup(logs)
    db = open_database(settings.database_url)
    try:
        group.start(
            "sandbox",
            [
                str(BIN / "agentfleet"),
                "sandbox",
                "--port",
                str(sandbox_port),
                "--latency-ms",
                str(latency_ms),
            ],
            env,
        )
        group.start("api", [str(BIN / "agentfleet"), "api", "--port", str(api_port)], env)
        for relay in range(relays):
            group.start(f"relay-{relay}", [str(BIN / "agentfleet"), "relay"], env)
        group.start(
            "outreach",
            _dramatiq("workers.pools.outreach", "outreach", threads, processes=processes),
            env,
        )
        api_url = f"http://127.0.0.1:{api_port}"
        wait_until(http_ok(f"{api_url}/healthz"), 30, "the API")
        wait_until(http_ok(f"http://127.0.0.1:{sandbox_port}/healthz"), 30, "the sandbox")
        tenant_id = create_tenant(db, "Bench Tenant")
        token = create_api_key(db, tenant_id).token
        targets = seed_sample_crm(db, tenant_id, contacts=count + 20)
        _wait_for_consumer(_publishing_broker(settings), "outreach", group, consumers=processes)

        local = threading.local()
        driver_clients: list[httpx.Client] = []

        def post(target_index: int) -> None:
            client: httpx.Client | None = getattr(local, "client", None)
            if client is None:  # one connection pool per driver thread
                client = httpx.Client(
                    base_url=api_url, timeout=60, headers={"Authorization": f"Bearer {token}"}
                )
                local.client = client
                driver_clients.append(client)
            target = targets[target_index]
            body = {
                "agent_type": "outreach",
                "task_type": "draft_outreach",
                "input": {
                    "contact_id": str(target.contact_id),
                    "opportunity_id": str(target.opportunity_id),
                },
            }
            client.post("/v1/tasks", json=body).raise_for_status()

        for index in range(20):  # warm-up: imports, connection pools, JIT-free caches
            post(count + index)
        wait_until(lambda: _completed(db, tenant_id) >= 20, 120, "the warm-up", 0.1)
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=clients) as pool:
            list(pool.map(post, range(count)))
        wait_until(lambda: _completed(db, tenant_id) >= count + 20, 900, "the pipeline", 0.05)
        elapsed = time.perf_counter() - started
        group.assert_running()
        print(_stage_timings(settings, tenant_id))
        for client in driver_clients:
            client.close()
    finally:
        group.stop_all()
        db.dispose()
    return count / elapsed


def _stage_timings(settings: Settings, tenant_id: uuid.UUID) -> str:
    """Median and p95 of queue wait, processing time and outbox lag, from the rows themselves."""
    engine = sa.create_engine(settings.migration_url())
    query = sa.text(
        """
        SELECT 'queue wait (created→started)', started_at - created_at FROM tasks
         WHERE tenant_id = :tenant
        UNION ALL
        SELECT 'processing (started→completed)', completed_at - started_at FROM tasks
         WHERE tenant_id = :tenant
        UNION ALL
        SELECT 'outbox lag (written→published)', published_at - created_at FROM outbox
         WHERE tenant_id = :tenant
        """
    )
    stages: dict[str, list[float]] = {}
    with engine.connect() as connection:
        for stage, delta in connection.execute(query, {"tenant": tenant_id}):
            if delta is not None:  # e.g. a last event the relay has not published yet
                stages.setdefault(stage, []).append(delta.total_seconds() * 1000)
    engine.dispose()
    lines = []
    for stage, values in stages.items():
        values.sort()
        median, p95 = values[len(values) // 2], values[int(len(values) * 0.95)]
        lines.append(f"  {stage:<32} median {median:8.1f} ms   p95 {p95:8.1f} ms")
    return "pipeline stages:\n" + "\n".join(lines)


def _dramatiq(module: str, queue: str, threads: int, *, processes: int = 1) -> list[str]:
    return [
        str(BIN / "dramatiq"),
        module,
        "--processes",
        str(processes),
        "--threads",
        str(threads),
        "--queues",
        queue,
    ]


def _publishing_broker(settings: Settings) -> dramatiq.Broker:
    from workers.runtime.broker import build_rabbitmq_broker

    return build_rabbitmq_broker(settings, [])


def _wait_for_consumer(
    broker: dramatiq.Broker, queue: str, group: ProcessGroup, *, consumers: int = 1
) -> None:
    import pika

    def consumed() -> bool:
        group.assert_running()
        try:
            connection = pika.BlockingConnection(broker.parameters)
        except pika.exceptions.AMQPError:
            return False
        try:
            declared = connection.channel().queue_declare(queue, passive=True)
            return int(declared.method.consumer_count) >= consumers
        except pika.exceptions.ChannelClosedByBroker:
            return False
        finally:
            if connection.is_open:
                connection.close()

    wait_until(consumed, 60, f"{consumers} consumer(s) on {queue}", 0.2)


def _count(engine: sa.Engine, table: str) -> int:
    with engine.connect() as connection:
        return int(connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())


def _completed(db: object, tenant_id: uuid.UUID) -> int:
    from shared.db.database import Database

    assert isinstance(db, Database)
    with db.unit_of_work(tenant_id) as uow:
        return int(
            uow.session.scalar(
                sa.select(sa.func.count())
                .select_from(Task)
                .where(Task.tenant_id == tenant_id, Task.status == "completed")
            )
            or 0
        )


if __name__ == "__main__":
    sys.exit(main())
