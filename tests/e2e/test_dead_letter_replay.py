"""Acceptance: a task naming an agent that does not exist yet is dead-lettered with the reason;
once the agent is created under that id, ``agentfleet dead-letters replay`` runs it through the
outbox, the relay and the worker to a draft awaiting approval, exactly once more."""

from __future__ import annotations

import json
import subprocess
import uuid
from typing import Any

import httpx
import pika
import pytest
import sqlalchemy as sa

from services.demo.seed import SeededTarget, seed_sample_crm
from shared.db.database import Database
from shared.db.models import ApprovalItem, Draft, OutboxMessage, Task
from shared.settings import Settings
from shared.tenancy import CreatedKey
from tests.e2e.conftest import Stack
from tests.support import infra
from tests.support.api import auth, outreach_body, post_task
from tests.support.processes import BIN, wait_until

pytestmark = pytest.mark.e2e


@pytest.fixture
def crm(db: Database, tenant: CreatedKey) -> list[SeededTarget]:
    return seed_sample_crm(db, tenant.tenant_id, contacts=2)


def _agentfleet(stack: Stack, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "agentfleet"), *argv],
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _dead_letters(stack: Stack) -> list[dict[str, Any]]:
    listed = _agentfleet(stack, "dead-letters", "list", "--queue", "outreach", "--json")
    assert listed.returncode == 0, listed.stderr
    rows: list[dict[str, Any]] = json.loads(listed.stdout)
    return rows


def _task(db: Database, tenant_id: uuid.UUID, task_id: uuid.UUID) -> Task:
    with db.unit_of_work(tenant_id) as uow:
        return uow.session.get_one(Task, task_id)


def _task_events(owner_db: Database, task_id: uuid.UUID, event_type: str) -> int:
    with owner_db.unit_of_work() as uow:
        return (
            uow.session.scalar(
                sa.select(sa.func.count())
                .select_from(OutboxMessage)
                .where(
                    OutboxMessage.destination == event_type,
                    OutboxMessage.payload["aggregate_id"].as_string() == str(task_id),
                )
            )
            or 0
        )


def _empty_outreach_xq(broker_url: str) -> None:
    """Start from an empty ``outreach.XQ`` (earlier tests may have parked messages there)."""
    connection = pika.BlockingConnection(pika.URLParameters(broker_url))
    try:
        connection.channel().queue_purge("outreach.XQ")
    finally:
        connection.close()


def test_a_task_for_a_missing_agent_is_replayed_from_the_dead_letter_queue_once_it_exists(
    stack: Stack,
    settings: Settings,
    tenant: CreatedKey,
    crm: list[SeededTarget],
    db: Database,
    owner_db: Database,
) -> None:
    vhost = settings.broker_url.rsplit("/", 1)[1]
    _empty_outreach_xq(settings.broker_url)
    agent_id = uuid.uuid4()
    body = outreach_body(crm[0].contact_id)
    body["input"]["agent_id"] = str(agent_id)
    with httpx.Client(base_url=stack.api_url, timeout=10) as api:
        accepted = post_task(api, tenant.token, body)
        assert accepted.status_code == 202, accepted.text
        task_id = uuid.UUID(accepted.json()["id"])

        reason = f"agent {agent_id} does not exist"
        wait_until(
            lambda: _task(db, tenant.tenant_id, task_id).status == "failed",
            60,
            "the worker to refuse the task",
            poll_s=0.5,
        )
        [parked] = _dead_letters(stack)
        refused = _task(db, tenant.tenant_id, task_id)
        assert (parked["task_id"], parked["reason"]) == (str(task_id), reason)
        assert refused.error == f"invalid message: {reason}"
        assert refused.attempts == 1

        created = api.post(
            "/v1/agents",
            json={"id": str(agent_id), "agent_type": "outreach", "name": "Late writer"},
            headers=auth(tenant.token),
        )
        assert created.status_code == 201, created.text

        replayed = _agentfleet(stack, "dead-letters", "replay", "--queue", "outreach", "--all")

        assert replayed.returncode == 0, replayed.stdout + replayed.stderr
        assert f"task {task_id} reset" in replayed.stdout
        wait_until(
            lambda: _task(db, tenant.tenant_id, task_id).status == "completed",
            90,
            "the replayed task to complete",
            poll_s=0.5,
        )

    stack.processes.assert_running()
    done = _task(db, tenant.tenant_id, task_id)
    assert done.attempts == 2
    assert done.agent_id == agent_id
    assert done.error is None
    with db.unit_of_work(tenant.tenant_id) as uow:
        drafts = uow.session.scalars(sa.select(Draft.id).where(Draft.task_id == task_id)).all()
        items = uow.session.scalars(
            sa.select(ApprovalItem.status).where(ApprovalItem.task_id == task_id)
        ).all()
    assert len(drafts) == 1
    assert list(items) == ["pending"]
    assert _dead_letters(stack) == []
    assert infra.messages_held(vhost, "outreach.XQ") == 0
    assert _task_events(owner_db, task_id, "task.started") == 2
    assert _task_events(owner_db, task_id, "task.completed") == 1
