"""A 429 storm (every call answered 429 with ``Retry-After: 2`` for 10 s) ends with every task
completed, no request sent before the provider's retry time, and a bounded number of attempts.

The whole path is real: outreach worker threads, the Redis rate governor, deferral through the
outbox, a relay publishing the deferred tasks, and the sandbox provider over HTTP.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator

import dramatiq
import httpx
import pytest

from services.demo.seed import seed_sample_crm
from services.sandbox.config import SandboxConfig
from services.sandbox.server import start_sandbox_in_thread
from shared.db.database import Database, open_database
from shared.db.models import Task
from shared.settings import Settings
from shared.tenancy import CreatedKey
from tests.support import amqp
from tests.support.amqp import task_envelope
from workers.outreach.actor import declare_outreach_actor
from workers.relay.publishers import RabbitmqPublisher
from workers.relay.relay import Relay
from workers.relay.wakeup import PostgresNotifyWakeup, libpq_conninfo
from workers.runtime.bootstrap import build_pool

pytestmark = pytest.mark.integration

STORM_S = 10.0
RETRY_AFTER_S = 2.0
TASKS = 6
MAX_DELIVERIES = 8
# A request already on the wire when a 429 arrives is not a violation of it.
IN_FLIGHT_S = 0.15


@pytest.fixture
def storm_stack(settings: Settings) -> Iterator[tuple[Settings, str]]:
    with start_sandbox_in_thread(SandboxConfig()) as sandbox:
        stack_settings = settings.model_copy(
            update={
                "openai_base_url": sandbox.base_url,
                "redis_key_prefix": f"{settings.redis_key_prefix}-storm-{uuid.uuid4().hex[:6]}",
                "outbox_poll_interval_s": 0.5,
            }
        )
        broker, boot = build_pool([declare_outreach_actor], stack_settings)
        boot.start()
        worker = dramatiq.Worker(broker, worker_threads=3, worker_timeout=100)
        worker.start()
        relay_db = open_database(stack_settings.relay_url(), pool_size=2)
        wakeup = PostgresNotifyWakeup(libpq_conninfo(stack_settings.relay_url()))
        publisher = RabbitmqPublisher(
            stack_settings.broker_url,
            stack_settings.events_exchange,
            stack_settings.broker_max_priority,
        )
        relay = Relay(
            relay_db,
            publisher,
            wakeup,
            batch_size=100,
            lease_s=30,
            poll_interval_s=0.5,
            backoff_max_s=2,
        )
        stop = threading.Event()
        relay_thread = threading.Thread(target=relay.run, args=(stop,), daemon=True)
        relay_thread.start()
        try:
            yield stack_settings, sandbox.base_url.removesuffix("/v1")
        finally:
            stop.set()
            relay_thread.join(10)
            worker.stop()
            boot.stop()
            broker.close()
            publisher.close()
            wakeup.close()
            relay_db.dispose()


def test_a_429_storm_ends_with_every_task_completed_and_no_early_request(
    storm_stack: tuple[Settings, str], db: Database, tenant: CreatedKey
) -> None:
    settings, sandbox_root = storm_stack
    targets = seed_sample_crm(db, tenant.tenant_id, contacts=TASKS)
    scenario = {"rate_limit_storm_s": STORM_S, "storm_retry_after_s": RETRY_AFTER_S}
    httpx.post(f"{sandbox_root}/_sandbox/reset", timeout=5).raise_for_status()
    httpx.post(f"{sandbox_root}/_sandbox/scenario", json=scenario, timeout=5).raise_for_status()
    envelopes = [task_envelope(tenant, target) for target in targets]

    amqp.publish(settings.broker_url, "outreach", [amqp.dramatiq_body(e) for e in envelopes])
    deadline = time.monotonic() + STORM_S + 60
    while True:
        with db.unit_of_work(tenant.tenant_id) as uow:
            tasks = [uow.session.get(Task, uuid.UUID(e["task_id"])) for e in envelopes]
        if all(t is not None and t.status in ("completed", "failed") for t in tasks):
            break
        assert time.monotonic() < deadline, [t and (t.status, t.attempts) for t in tasks]
        time.sleep(0.25)

    assert [t.status for t in tasks if t is not None] == ["completed"] * TASKS
    assert max(t.attempts for t in tasks if t is not None) <= MAX_DELIVERIES
    requests = httpx.get(f"{sandbox_root}/_sandbox/requests", timeout=5).json()["requests"]
    calls = [r for r in requests if r["provider"] == "openai"]
    limited = [r["received_mono"] for r in calls if r["status"] == 429]
    assert limited, "the storm answered 429s"
    # At least: the relay also delivers other tests' leftover tasks to this worker.
    assert sum(r["status"] == 200 for r in calls) >= TASKS
    early = [
        (after_429, r["received_mono"] - after_429)
        for after_429 in limited
        for r in calls
        if after_429 + IN_FLIGHT_S < r["received_mono"] < after_429 + RETRY_AFTER_S - 0.05
    ]
    assert early == [], "requests sent before the provider's retry time"
    assert len(limited) <= TASKS * MAX_DELIVERIES, "bounded attempts"
