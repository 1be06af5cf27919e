"""Assigning tasks to an agent, and listing runs per agent and across agents."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from services.demo.seed import SeededTarget
from shared.db.database import Database
from shared.tenancy import CreatedKey, create_api_key, create_tenant
from tests.support.api import auth

pytestmark = pytest.mark.integration


def _agent(api: httpx.Client, token: str, **config: Any) -> dict[str, Any]:
    response = api.post(
        "/v1/agents",
        json={"agent_type": "email_drafter", "name": f"a-{uuid.uuid4().hex[:8]}", "config": config},
        headers=auth(token),
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def _assign(
    api: httpx.Client, token: str, agent_id: str, contact_id: uuid.UUID, **extra: Any
) -> httpx.Response:
    body = {"task_type": "draft_outreach", "input": {"contact_id": str(contact_id)}, **extra}
    return api.post(f"/v1/agents/{agent_id}/tasks", json=body, headers=auth(token))


def test_an_assigned_task_belongs_to_its_agent_and_is_listed(
    api: httpx.Client, tenant: CreatedKey, targets: list[SeededTarget]
) -> None:
    agent = _agent(api, tenant.token)

    first = _assign(api, tenant.token, agent["id"], targets[0].contact_id, priority="high")
    second = _assign(api, tenant.token, agent["id"], targets[1].contact_id)
    listed = api.get(f"/v1/agents/{agent['id']}/tasks", headers=auth(tenant.token)).json()
    pending = api.get(
        "/v1/tasks",
        params={"status": "pending", "agent_type": "email_drafter"},
        headers=auth(tenant.token),
    ).json()
    completed = api.get(
        f"/v1/agents/{agent['id']}/tasks",
        params={"status": "completed"},
        headers=auth(tenant.token),
    ).json()

    assert first.status_code == 202, first.text
    task = first.json()
    assert task["agent_id"] == agent["id"]
    assert task["trigger"] == "manual"
    assert task["input"]["agent_id"] == agent["id"], "the worker uses the agent's config"
    assert first.headers["location"] == f"/v1/tasks/{task['id']}"
    assert listed["total"] == 2
    assert [t["id"] for t in listed["items"]] == [second.json()["id"], task["id"]]
    assert {task["id"], second.json()["id"]} <= {t["id"] for t in pending["items"]}
    assert completed["total"] == 0


def test_only_an_agent_that_takes_work_gets_tasks(
    api: httpx.Client, tenant: CreatedKey, targets: list[SeededTarget]
) -> None:
    paused = _agent(api, tenant.token)
    disabled = _agent(api, tenant.token)
    headers = auth(tenant.token)
    assert (
        api.patch(
            f"/v1/agents/{paused['id']}", json={"status": "paused"}, headers=headers
        ).status_code
        == 200
    )
    assert (
        api.patch(
            f"/v1/agents/{disabled['id']}", json={"enabled": False}, headers=headers
        ).status_code
        == 200
    )

    to_paused = _assign(api, tenant.token, paused["id"], targets[0].contact_id)
    to_disabled = _assign(api, tenant.token, disabled["id"], targets[0].contact_id)

    assert to_paused.status_code == 409
    assert "paused" in to_paused.json()["detail"]
    assert to_disabled.status_code == 409
    assert "disabled" in to_disabled.json()["detail"]


def test_bad_assignments_are_clear_4xx(
    api: httpx.Client, tenant: CreatedKey, targets: list[SeededTarget], db: Database
) -> None:
    agent = _agent(api, tenant.token)
    other = create_api_key(db, create_tenant(db, "Other Assigner"))

    wrong_type = api.post(
        f"/v1/agents/{agent['id']}/tasks",
        json={"task_type": "source_leads", "input": {}},
        headers=auth(tenant.token),
    )
    bad_input = api.post(
        f"/v1/agents/{agent['id']}/tasks",
        json={"task_type": "draft_outreach", "input": {"contact_id": "nope"}},
        headers=auth(tenant.token),
    )
    unknown_contact = _assign(api, tenant.token, agent["id"], uuid.uuid4())
    foreign = _assign(api, other.token, agent["id"], targets[0].contact_id)
    unknown_agent = _assign(api, tenant.token, str(uuid.uuid4()), targets[0].contact_id)
    bad_filter = api.get(
        "/v1/tasks", params={"agent_type": "astrologer"}, headers=auth(tenant.token)
    )

    assert wrong_type.status_code == 422
    assert "not handled by agent type 'outreach'" in wrong_type.json()["detail"]
    assert bad_input.status_code == 422
    assert "input.contact_id" in bad_input.json()["detail"]
    assert unknown_contact.status_code == 422
    assert foreign.status_code == 404
    assert unknown_agent.status_code == 404
    assert bad_filter.status_code == 422


def test_assignment_honours_the_idempotency_key(
    api: httpx.Client, tenant: CreatedKey, targets: list[SeededTarget]
) -> None:
    agent = _agent(api, tenant.token)
    key = {"Idempotency-Key": f"assign-{uuid.uuid4()}"}
    body = {"task_type": "draft_outreach", "input": {"contact_id": str(targets[0].contact_id)}}
    url = f"/v1/agents/{agent['id']}/tasks"

    first = api.post(url, json=body, headers={**auth(tenant.token), **key})
    again = api.post(url, json=body, headers={**auth(tenant.token), **key})

    assert first.json()["id"] == again.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
