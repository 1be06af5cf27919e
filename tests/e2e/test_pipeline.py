"""One outreach task through the whole real stack: HTTP → outbox → relay → RabbitMQ →
``dramatiq`` worker → sandbox LLM over HTTP → Postgres → events on ``agentfleet.events``."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from services.demo.seed import SeededTarget, seed_sample_crm
from shared.db.database import Database
from shared.db.models import ApprovalItem, Draft, Task
from shared.settings import Settings
from shared.tenancy import CreatedKey
from tests.e2e.conftest import Stack
from tests.support.api import auth, outreach_body, post_task, task_status
from tests.support.events import EventTap
from tests.support.processes import wait_until

pytestmark = pytest.mark.e2e

TASK_EVENTS = {"task.queued", "task.started", "draft.created", "approval.created", "task.completed"}
README = Path(__file__).resolve().parents[2] / "README.md"


@pytest.fixture
def tap(settings: Settings, stack: Stack) -> Iterator[EventTap]:
    listener = EventTap(settings.broker_url, settings.events_exchange)
    yield listener
    listener.close()


@pytest.fixture
def crm(db: Database, tenant: CreatedKey) -> list[SeededTarget]:
    return seed_sample_crm(db, tenant.tenant_id, contacts=8)


def _wait_completed(stack: Stack, token: str, task_ids: list[str], timeout_s: float) -> None:
    def done() -> bool:
        stack.processes.assert_running()
        return all(task_status(stack.api_url, token, t) == "completed" for t in task_ids)

    wait_until(done, timeout_s, f"{len(task_ids)} tasks to complete", poll_s=0.5)


def _drafts_and_items(db: Database, tenant_id: uuid.UUID, task_id: str) -> tuple[int, list[str]]:
    with db.unit_of_work(tenant_id) as uow:
        drafts = uow.session.scalar(
            sa.select(sa.func.count()).select_from(Draft).where(Draft.task_id == uuid.UUID(task_id))
        )
        items = uow.session.scalars(
            sa.select(ApprovalItem.status).where(ApprovalItem.task_id == uuid.UUID(task_id))
        ).all()
    return drafts or 0, list(items)


def test_a_task_posted_over_http_ends_as_a_draft_awaiting_approval(
    stack: Stack, tap: EventTap, tenant: CreatedKey, crm: list[SeededTarget], db: Database
) -> None:
    with httpx.Client(base_url=stack.api_url, timeout=10) as client:
        accepted = post_task(client, tenant.token, outreach_body(crm[0].contact_id))
    assert accepted.status_code == 202, accepted.text
    task_id = accepted.json()["id"]

    _wait_completed(stack, tenant.token, [task_id], 60)
    events = tap.wait_for_task_events(task_id, TASK_EVENTS)

    assert {e["event_type"] for e in events} == TASK_EVENTS
    assert all(e["tenant_id"] == str(tenant.tenant_id) for e in events)
    assert _drafts_and_items(db, tenant.tenant_id, task_id) == (1, ["pending"])
    with httpx.Client(base_url=stack.api_url, timeout=10) as client:
        queue = client.get("/v1/approvals", headers=auth(tenant.token)).json()
    assert [item["task_id"] for item in queue["items"]] == [task_id]
    assert crm[0].contact_name.split()[0] in queue["items"][0]["content"]["body"]


def _readme_publish_example() -> str:
    text = README.read_text()
    section = text.split("<!-- publish-example:start -->", 1)[1].split(
        "<!-- publish-example:end -->"
    )[0]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "README has no publish example"
    return match.group(1)


def test_a_task_published_with_plain_pika_as_in_the_readme_is_processed(
    stack: Stack,
    tap: EventTap,
    settings: Settings,
    tenant: CreatedKey,
    crm: list[SeededTarget],
    db: Database,
    tmp_path: Path,
) -> None:
    code = _readme_publish_example()
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(ast.parse(code))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in (
            node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")]
        )
    }
    assert imported <= {"json", "os", "time", "uuid", "pika"}, imported
    script = tmp_path / "publish_task.py"
    script.write_text(code)
    env = {
        "AMQP_URL": settings.broker_url,
        "TENANT_ID": str(tenant.tenant_id),
        "CONTACT_ID": str(crm[1].contact_id),
        "PATH": "/usr/bin:/bin",
    }

    published = subprocess.run(
        [sys.executable, "-I", str(script)],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert published.returncode == 0, published.stderr
    task_id = published.stdout.strip().split()[-1]
    _wait_completed(stack, tenant.token, [task_id], 60)
    events = tap.wait_for_task_events(task_id, TASK_EVENTS)
    assert {e["event_type"] for e in events} == TASK_EVENTS
    assert _drafts_and_items(db, tenant.tenant_id, task_id) == (1, ["pending"])
    with db.unit_of_work(tenant.tenant_id) as uow:
        task = uow.session.get(Task, uuid.UUID(task_id))
    assert task is not None
    assert task.trigger == "api"


def test_tasks_accepted_during_a_broker_outage_all_complete_once_it_returns(
    stack: Stack, tenant: CreatedKey, crm: list[SeededTarget], db: Database
) -> None:
    stack.broker_proxy.cut()
    try:
        with httpx.Client(base_url=stack.api_url, timeout=10) as client:
            responses = [
                post_task(client, tenant.token, outreach_body(target.contact_id))
                for target in crm[2:8]
            ]
        assert [r.status_code for r in responses] == [202] * 6
        task_ids = [r.json()["id"] for r in responses]
        time.sleep(3)
        assert {task_status(stack.api_url, tenant.token, t) for t in task_ids} == {"pending"}
    finally:
        stack.broker_proxy.restore()

    _wait_completed(stack, tenant.token, task_ids, 150)

    for task_id in task_ids:
        assert _drafts_and_items(db, tenant.tenant_id, task_id) == (1, ["pending"])
    stack.processes.assert_running()
    assert "relay.publish_failed" in stack.processes.log("relay"), "the relay saw the outage"
    assert "Consumer encountered a connection error" in stack.processes.log("outreach")
