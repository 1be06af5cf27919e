"""Metrics, logs and traces of a real run: API, relay, a two-process outreach pool and the
sandbox provider, each its own process with its own exporter.

Acceptance: after the run, scraping the API and the pool gives the expected counts; a log
line for each provider call carries the tenant, task and trace ids of the HTTP request that
created the task; a canary secret never appears in any process's log.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pika
import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr

from services.demo.seed import SeededTarget, seed_sample_crm
from shared.db.database import Database
from shared.db.models import ApprovalItem
from shared.settings import Settings
from shared.tenancy import CreatedKey
from tests.e2e.conftest import consumers_on
from tests.support import infra
from tests.support.api import auth, outreach_body, post_task, task_status
from tests.support.processes import (
    BIN,
    ProcessGroup,
    http_ok,
    process_group,
    settings_environment,
    wait_until,
)
from tests.support.servers import free_port

pytestmark = pytest.mark.e2e

TASKS = 6
CANARY_PROVIDER_KEY = f"sk-canary-{secrets.token_hex(12)}"
CANARY_ENCRYPTION_KEY = f"canary-encryption-{secrets.token_hex(16)}"

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@dataclass
class ObservedStack:
    api_url: str
    pool_metrics_url: str
    relay_metrics_url: str
    settings: Settings
    processes: ProcessGroup
    log_dir: Path


@pytest.fixture(scope="module")
def observed(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ObservedStack]:
    log_dir = tmp_path_factory.mktemp("observability-logs")
    sandbox_port, api_port, pool_port, relay_port = (free_port() for _ in range(4))
    # A vhost of its own: messages other tests left on the run's queues must not be counted.
    vhost = f"agentfleet-obs-{uuid.uuid4().hex[:10]}"
    infra.create_vhost(vhost)
    stack_settings = settings.model_copy(
        update={
            "broker_url": infra.broker_url(vhost),
            "openai_base_url": f"http://127.0.0.1:{sandbox_port}/v1",
            "apollo_base_url": f"http://127.0.0.1:{sandbox_port}/api/v1",
            "openai_api_key": SecretStr(CANARY_PROVIDER_KEY),
            "encryption_key": SecretStr(CANARY_ENCRYPTION_KEY),
            "redis_key_prefix": f"{settings.redis_key_prefix}-obs-{uuid.uuid4().hex[:6]}",
            "log_json": True,
            "metrics_dir": str(tmp_path_factory.mktemp("metrics")),
        }
    )
    env = settings_environment(stack_settings)
    with contextlib.ExitStack() as cleanup, process_group(log_dir) as group:
        cleanup.callback(infra.delete_vhost, vhost)
        group.start(
            "sandbox", [str(BIN / "agentfleet"), "sandbox", "--port", str(sandbox_port)], env
        )
        group.start("api", [str(BIN / "agentfleet"), "api", "--port", str(api_port)], env)
        group.start(
            "relay",
            [str(BIN / "agentfleet"), "relay"],
            {**env, "AGENTFLEET_METRICS_PORT": str(relay_port)},
        )
        group.start(
            "outreach",
            [
                str(BIN / "dramatiq"),
                "workers.pools.outreach",
                "--processes",
                "2",
                "--threads",
                "3",
                "--queues",
                "outreach",
            ],
            {**env, "AGENTFLEET_METRICS_PORT": str(pool_port)},
        )
        stack = ObservedStack(
            api_url=f"http://127.0.0.1:{api_port}",
            pool_metrics_url=f"http://127.0.0.1:{pool_port}/metrics",
            relay_metrics_url=f"http://127.0.0.1:{relay_port}/metrics",
            settings=stack_settings,
            processes=group,
            log_dir=log_dir,
        )
        wait_until(http_ok(f"http://127.0.0.1:{sandbox_port}/healthz"), 30, "the sandbox")
        wait_until(http_ok(f"{stack.api_url}/healthz"), 30, "the API")
        wait_until(http_ok(f"http://127.0.0.1:{pool_port}/healthz"), 60, "the pool exporter")
        wait_until(http_ok(f"http://127.0.0.1:{relay_port}/healthz"), 30, "the relay exporter")
        wait_until(
            lambda: consumers_on(stack_settings.broker_url, "outreach") >= 2, 60, "2 workers"
        )
        yield stack


def _scrape(url: str) -> Samples:
    text = httpx.get(url, timeout=10).raise_for_status().text
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def _value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of ``name``'s samples whose labels include ``labels`` (0 when none)."""
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


def _has(samples: Samples, name: str) -> bool:
    return any(n == name for n, _ in samples)


def _json_lines(text: str) -> Iterator[dict[str, Any]]:
    for line in text.splitlines():
        start = line.find("{")
        if start < 0:
            continue
        try:
            parsed = json.loads(line[start:])
        except ValueError:
            continue
        if isinstance(parsed, dict):
            yield parsed


def _publish_malformed(settings: Settings) -> None:
    connection = pika.BlockingConnection(pika.URLParameters(settings.broker_url))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        channel.basic_publish("", "outreach", b"not a dramatiq message", mandatory=True)
    finally:
        connection.close()


def test_a_run_is_measured_logged_and_traced_without_leaking_secrets(
    observed: ObservedStack, db: Database, tenant: CreatedKey
) -> None:
    crm: list[SeededTarget] = seed_sample_crm(db, tenant.tenant_id, contacts=TASKS)
    traces = {}
    with httpx.Client(base_url=observed.api_url, timeout=10) as client:
        for target in crm:
            trace_id = secrets.token_hex(16)
            response = post_task(
                client,
                tenant.token,
                outreach_body(target.contact_id),
                traceparent=f"00-{trace_id}-{secrets.token_hex(8)}-01",
            )
            assert response.status_code == 202, response.text
            assert response.headers["traceparent"].split("-")[1] == trace_id
            traces[response.json()["id"]] = trace_id
    _publish_malformed(observed.settings)

    def all_completed() -> bool:
        observed.processes.assert_running()
        return all(task_status(observed.api_url, tenant.token, t) == "completed" for t in traces)

    wait_until(all_completed, 90, f"{TASKS} tasks to complete", poll_s=0.5)
    with db.unit_of_work(tenant.tenant_id) as uow:
        first_item = uow.session.scalars(
            sa.select(ApprovalItem.id).where(ApprovalItem.status == "pending").limit(1)
        ).one()
    approved = httpx.post(
        f"{observed.api_url}/v1/approvals/{first_item}/approve",
        headers=auth(tenant.token),
        timeout=10,
    )
    assert approved.status_code == 200, approved.text

    # The pool: one completion per task, each timed, none in flight, the malformed message
    # dead-lettered, and the provider calls, governor permits, tokens and cost counted.
    def pool_settled() -> bool:
        pool = _scrape(observed.pool_metrics_url)
        return (
            _value(pool, "agentfleet_tasks_total", agent_type="outreach", outcome="completed")
            == TASKS
            and _value(pool, "agentfleet_dead_letters_total", queue="outreach", reason="malformed")
            == 1
        )

    wait_until(pool_settled, 30, "the pool's metrics to settle", poll_s=0.5)
    pool = _scrape(observed.pool_metrics_url)
    assert _value(pool, "agentfleet_task_duration_seconds_count", agent_type="outreach") >= TASKS
    assert _value(pool, "agentfleet_task_queue_wait_seconds_count", agent_type="outreach") >= TASKS
    assert _value(pool, "agentfleet_tasks_in_flight", agent_type="outreach") == 0
    assert _value(pool, "agentfleet_task_retries_total") == 0
    openai_ok = _value(pool, "agentfleet_provider_requests_total", provider="openai", status="2xx")
    assert openai_ok >= TASKS
    openai_all = _value(pool, "agentfleet_provider_requests_total", provider="openai")
    assert (
        _value(pool, "agentfleet_provider_request_duration_seconds_count", provider="openai")
        == openai_all
    )
    assert _value(pool, "agentfleet_provider_requests_total", status="429") == 0
    assert (
        _value(pool, "agentfleet_rate_governor_permits_total", provider="openai", result="granted")
        == openai_all
    )
    assert _value(pool, "agentfleet_rate_governor_capacity_per_second", provider="openai") > 0
    tenant_label = {"tenant": str(tenant.tenant_id), "agent_type": "outreach"}
    assert _value(pool, "agentfleet_llm_tokens_total", direction="input", **tenant_label) > 0
    assert _value(pool, "agentfleet_llm_tokens_total", direction="output", **tenant_label) > 0
    assert _value(pool, "agentfleet_provider_cost_usd_total", **tenant_label) > 0

    # The API: the accepted tasks, the decision, and the fleet gauges read from Postgres.
    api = _scrape(f"{observed.api_url}/metrics")
    assert (
        _value(
            api, "agentfleet_http_requests_total", method="POST", route="/v1/tasks", status="202"
        )
        >= TASKS
    )
    assert _value(api, "agentfleet_tasks_queued_total", agent_type="outreach", trigger="api") >= (
        TASKS
    )
    assert _value(api, "agentfleet_approval_decisions_total", outcome="approved") == 1
    assert (
        _value(api, "agentfleet_approval_time_to_decision_seconds_count", outcome="approved") == 1
    )
    assert _value(api, "agentfleet_approvals_pending", agent_type="outreach") >= TASKS - 1
    assert _value(api, "agentfleet_approval_oldest_pending_age_seconds", agent_type="outreach") > 0
    assert _has(api, "agentfleet_outbox_lag_seconds")
    assert _value(api, "agentfleet_tasks_open", agent_type="outreach", status="in_progress") == 0

    # The relay: every task message published with a confirm; queue depths from the broker.
    relay = _scrape(observed.relay_metrics_url)
    assert _value(relay, "agentfleet_relay_published_total", kind="task") >= TASKS
    assert _value(relay, "agentfleet_relay_published_total", kind="event") > 0
    assert _value(relay, "agentfleet_queue_depth", queue="outreach") == 0
    assert _value(relay, "agentfleet_queue_depth", queue="outreach.XQ") >= 1
    assert _value(relay, "agentfleet_queue_consumers", queue="outreach") >= 2

    # Every provider call logged with the ids of the HTTP request behind it.
    pool_log = observed.processes.log("outreach")
    calls = [line for line in _json_lines(pool_log) if line.get("event") == "provider.request"]
    for task_id, trace_id in traces.items():
        mine = [line for line in calls if line.get("task_id") == task_id]
        assert mine, f"no provider.request line for task {task_id}"
        for line in mine:
            assert line["trace_id"] == trace_id
            assert line["tenant_id"] == str(tenant.tenant_id)
            assert line["agent_type"] == "outreach"
            assert line["provider"] == "openai"
    time.sleep(0.5)  # let the last lines reach the log files
    for log_file in observed.log_dir.glob("*.log"):
        text = log_file.read_text(errors="replace")
        assert CANARY_PROVIDER_KEY not in text, f"provider key leaked into {log_file.name}"
        assert CANARY_ENCRYPTION_KEY not in text, f"encryption key leaked into {log_file.name}"
        assert tenant.token not in text, f"API key leaked into {log_file.name}"
