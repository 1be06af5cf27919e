"""Agent endpoints over real HTTP: CRUD, per-type config, pause/resume events, status."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from services.api.app import create_app
from services.api.routes import agents
from shared.db.base import utcnow
from shared.db.database import Database
from shared.db.models import (
    ActivityLogEntry,
    ActorKind,
    Agent,
    ApprovalItem,
    Draft,
    OutboxMessage,
    Task,
)
from shared.lifecycles import ApprovalStatus, TaskStatus
from shared.roles import Role
from shared.settings import Settings
from shared.tenancy import CreatedKey, create_api_key, create_tenant
from tests.support.api import auth
from tests.support.servers import serve_in_thread

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def agents_url(settings: Settings, db: Database) -> Iterator[str]:
    app = create_app(settings, db=db)
    if not any(getattr(r, "path", "").startswith("/v1/agents") for r in app.routes):
        app.include_router(agents.router)
    with serve_in_thread(app) as url:
        yield url


@pytest.fixture
def client(agents_url: str, tenant: CreatedKey) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=agents_url, timeout=30, headers=auth(tenant.token)) as http:
        yield http


def _create(client: httpx.Client, agent_type: str = "outreach", **body: Any) -> dict[str, Any]:
    response = client.post(
        "/v1/agents",
        json={"agent_type": agent_type, "name": f"agent-{uuid.uuid4().hex[:8]}", **body},
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def _agent_events(owner_db: Database, agent_id: str) -> list[dict[str, Any]]:
    with owner_db.unit_of_work() as uow:
        rows = uow.session.scalars(
            sa.select(OutboxMessage)
            .where(OutboxMessage.destination == "agent.updated")
            .order_by(OutboxMessage.created_at, OutboxMessage.id)
        ).all()
        return [r.payload for r in rows if r.payload["aggregate_id"] == agent_id]


def test_create_fills_defaults_maps_columns_and_records_an_event(
    client: httpx.Client, tenant: CreatedKey, owner_db: Database
) -> None:
    response = client.post(
        "/v1/agents",
        json={
            "agent_type": "email_drafter",
            "name": "Outbound EU",
            "config": {
                "autoApprove": True,
                "max_daily_outreach": 20,
                "schedule": "0 9 * * MON-FRI",
                "limits": {"daily": 40},
                "approvalRequired": False,
            },
        },
    )

    assert response.status_code == 201, response.text
    agent = response.json()
    assert response.headers["location"] == f"/v1/agents/{agent['id']}"
    assert agent["agent_type"] == "outreach"
    assert agent["tenant_id"] == str(tenant.tenant_id)
    assert agent["status"] == "idle"
    assert agent["config"]["maxDailyOutreach"] == 20
    assert agent["config"]["messageTone"] == "professional"
    assert agent["schedule"] == "0 9 * * mon-fri"
    assert agent["limits"] == {"daily": 40, "hourly": None}
    assert agent["approval_required"] is False
    events = _agent_events(owner_db, agent["id"])
    assert [e["payload"]["action"] for e in events] == ["created"]
    assert events[0]["aggregate_type"] == "agent"
    assert client.get(f"/v1/agents/{agent['id']}").json() == agent


def test_invalid_input_is_a_problem_naming_the_fields(client: httpx.Client) -> None:
    bad_config = client.post(
        "/v1/agents",
        json={
            "agent_type": "followup",
            "name": "f",
            "config": {"maxFollowups": 0, "followupTypes": ["nag"], "bogus": True},
        },
    )
    bad_type = client.post("/v1/agents", json={"agent_type": "closer", "name": "x"})
    no_name = client.post("/v1/agents", json={"agent_type": "outreach", "name": ""})
    long_name = client.post("/v1/agents", json={"agent_type": "outreach", "name": "n" * 101})
    blank_name = client.post("/v1/agents", json={"agent_type": "outreach", "name": "   "})

    assert bad_config.status_code == 422
    assert bad_config.headers["content-type"] == "application/problem+json"
    problem = bad_config.json()
    assert problem["title"] == "Invalid agent config"
    assert {e["field"] for e in problem["errors"]} == {
        "config.maxFollowups",
        "config.followupTypes.0",
        "config.bogus",
    }
    assert "config.maxFollowups:" in problem["detail"]
    assert bad_type.status_code == 422
    assert "unknown agent type 'closer'" in bad_type.json()["detail"]
    assert no_name.status_code == 422
    assert long_name.status_code == 422
    assert blank_name.status_code == 422


def test_duplicate_name_per_type_is_409_but_other_types_may_share_it(
    client: httpx.Client,
) -> None:
    first = client.post("/v1/agents", json={"agent_type": "scoring", "name": "Main"})
    again = client.post("/v1/agents", json={"agent_type": "planning", "name": "Main"})
    other_type = client.post("/v1/agents", json={"agent_type": "research", "name": "Main"})
    rename = client.patch(f"/v1/agents/{other_type.json()['id']}", json={"name": "Main"})
    second = _create(client, "scoring")
    clash = client.patch(f"/v1/agents/{second['id']}", json={"name": "Main"})

    assert first.status_code == 201
    assert again.status_code == 409
    assert "already exists" in again.json()["detail"]
    assert other_type.status_code == 201
    assert other_type.json()["agent_type"] == "enrichment"
    assert rename.status_code == 200
    assert clash.status_code == 409


def test_list_filters_by_type_alias_and_status_and_pages(client: httpx.Client) -> None:
    outreach = [_create(client, "outreach") for _ in range(3)]
    _create(client, "followup")
    client.patch(f"/v1/agents/{outreach[0]['id']}", json={"status": "paused"})

    everything = client.get("/v1/agents").json()
    by_alias = client.get("/v1/agents", params={"type": "email_drafter"}).json()
    paused = client.get("/v1/agents", params={"status": "paused"}).json()
    page = client.get("/v1/agents", params={"type": "outreach", "limit": 2, "offset": 2}).json()
    bad_type = client.get("/v1/agents", params={"type": "nope"})
    bad_limit = client.get("/v1/agents", params={"limit": 201})
    bad_status = client.get("/v1/agents", params={"status": "sleeping"})

    assert everything["total"] == 4
    assert by_alias["total"] == 3
    assert {a["agent_type"] for a in by_alias["items"]} == {"outreach"}
    assert [a["id"] for a in paused["items"]] == [outreach[0]["id"]]
    assert page["total"] == 3
    assert len(page["items"]) == 1
    assert bad_type.status_code == 422
    assert bad_limit.status_code == 422
    assert bad_status.status_code == 422


def test_pause_and_resume_record_agent_updated_events(
    client: httpx.Client, owner_db: Database
) -> None:
    agent = _create(client)
    url = f"/v1/agents/{agent['id']}"

    paused = client.patch(url, json={"status": "paused"})
    pause_again = client.patch(url, json={"status": "paused"})
    resumed = client.patch(url, json={"status": "idle"})
    resume_again = client.patch(url, json={"status": "idle"})
    not_settable = client.patch(url, json={"status": "active"})

    assert paused.status_code == 200
    assert paused.json()["status"] == "paused"
    assert pause_again.status_code == 409
    assert resumed.status_code == 200
    assert resumed.json()["status"] == "idle"
    assert resume_again.status_code == 409
    assert "only a paused or errored agent can be resumed" in resume_again.json()["detail"]
    assert not_settable.status_code == 422
    changes = [e["payload"].get("changes") for e in _agent_events(owner_db, agent["id"])]
    assert changes == [
        None,
        {"status": {"from": "idle", "to": "paused"}},
        {"status": {"from": "paused", "to": "idle"}},
    ]


def test_patch_merges_config_revalidates_and_maps_columns(
    client: httpx.Client, owner_db: Database
) -> None:
    agent = _create(client, "followup", config={"maxFollowups": 5, "limits": {"daily": 10}})
    url = f"/v1/agents/{agent['id']}"

    updated = client.patch(
        url,
        json={
            "enabled": False,
            "config": {
                "escalation_after_attempts": 4,
                "limits": {"hourly": 2},
                "schedule": "*/5 * * * *",
            },
        },
    )
    invalid = client.patch(url, json={"config": {"maxFollowups": 3}})
    unchanged = client.patch(url, json={"config": {"maxFollowups": 5}})

    assert updated.status_code == 200, updated.text
    body = updated.json()
    assert body["enabled"] is False
    assert body["config"]["enabled"] is False
    assert body["config"]["maxFollowups"] == 5
    assert body["config"]["escalationAfterAttempts"] == 4
    assert body["limits"] == {"daily": 10, "hourly": 2}
    assert body["schedule"] == "*/5 * * * *"
    assert invalid.status_code == 422
    assert "escalationAfterAttempts must not exceed maxFollowups" in invalid.json()["detail"]
    assert unchanged.status_code == 200
    events = _agent_events(owner_db, agent["id"])
    assert len(events) == 2
    changes = events[1]["payload"]["changes"]
    assert changes["enabled"] == {"from": True, "to": False}
    assert set(changes["config"]) == {"enabled", "escalationAfterAttempts", "limits", "schedule"}


def test_other_tenants_and_unknown_agents_are_404(
    client: httpx.Client, agents_url: str, db: Database
) -> None:
    agent = _create(client)
    other = create_api_key(db, create_tenant(db, "Other Tenant"))
    with httpx.Client(base_url=agents_url, timeout=30, headers=auth(other.token)) as stranger:
        responses = [
            stranger.get(f"/v1/agents/{agent['id']}"),
            stranger.get(f"/v1/agents/{agent['id']}/status"),
            stranger.patch(f"/v1/agents/{agent['id']}", json={"status": "paused"}),
            stranger.delete(f"/v1/agents/{agent['id']}"),
        ]
        listed = stranger.get("/v1/agents").json()

    assert [r.status_code for r in responses] == [404, 404, 404, 404]
    assert listed["total"] == 0
    assert client.get(f"/v1/agents/{uuid.uuid4()}").status_code == 404
    assert client.get(f"/v1/agents/{agent['id']}").json()["status"] == "idle"


def test_permissions_are_checked_per_endpoint(
    client: httpx.Client, agents_url: str, tenant: CreatedKey, db: Database
) -> None:
    agent = _create(client)
    viewer = create_api_key(db, tenant.tenant_id, name="viewer", role=Role.VIEWER)
    manager = create_api_key(db, tenant.tenant_id, name="manager", role=Role.MANAGER)
    with httpx.Client(base_url=agents_url, timeout=30) as http:
        viewer_read = http.get(f"/v1/agents/{agent['id']}", headers=auth(viewer.token))
        viewer_write = http.patch(
            f"/v1/agents/{agent['id']}", json={"enabled": False}, headers=auth(viewer.token)
        )
        manager_delete = http.delete(f"/v1/agents/{agent['id']}", headers=auth(manager.token))
        anonymous = http.get("/v1/agents")

    assert viewer_read.status_code == 200
    assert viewer_write.status_code == 403
    assert "agents:write" in viewer_write.json()["detail"]
    assert manager_delete.status_code == 403
    assert "agents:delete" in manager_delete.json()["detail"]
    assert anonymous.status_code == 401


def _task(tenant_id: uuid.UUID, agent_id: uuid.UUID, status: TaskStatus, **extra: Any) -> Task:
    return Task(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        agent_id=agent_id,
        agent_type="outreach",
        task_type="draft_outreach",
        status=status,
        input={},
        **extra,
    )


def _seed_work(db: Database, tenant_id: uuid.UUID, agent_id: uuid.UUID) -> dict[str, Any]:
    now = utcnow()
    pending = _task(tenant_id, agent_id, TaskStatus.PENDING, created_at=now)
    running = _task(
        tenant_id, agent_id, TaskStatus.IN_PROGRESS, created_at=now - timedelta(hours=1)
    )
    done = [_task(tenant_id, agent_id, TaskStatus.COMPLETED, completed_at=now) for _ in range(3)]
    failed = _task(tenant_id, agent_id, TaskStatus.FAILED, completed_at=now)
    old = _task(tenant_id, agent_id, TaskStatus.COMPLETED, completed_at=now - timedelta(days=10))
    with db.unit_of_work(tenant_id) as uow:
        uow.session.add_all([pending, running, *done, failed, old])
        uow.session.flush()
        for status in [
            ApprovalStatus.PENDING,
            ApprovalStatus.PENDING,
            ApprovalStatus.APPROVED,
            ApprovalStatus.REJECTED,
        ]:
            draft = Draft(
                id=uuid.uuid4(),
                tenant_id=tenant_id,
                task_id=done[0].id,
                step=f"step-{uuid.uuid4().hex[:6]}",
                agent_id=agent_id,
                channel="email",
                body="Hi",
            )
            uow.session.add(draft)
            uow.session.flush()
            reviewed = None if status is ApprovalStatus.PENDING else now
            uow.session.add(
                ApprovalItem(
                    tenant_id=tenant_id,
                    agent_id=agent_id,
                    agent_type="outreach",
                    task_id=done[0].id,
                    draft_id=draft.id,
                    item_type="email_draft",
                    title="Email",
                    status=status,
                    reviewed_at=reviewed,
                )
            )
        for n in range(12):
            uow.session.add(
                ActivityLogEntry(
                    tenant_id=tenant_id,
                    agent_id=agent_id,
                    actor_kind=ActorKind.AGENT,
                    action=f"step.{n}",
                    created_at=now - timedelta(minutes=n),
                )
            )
        uow.commit()
    return {"pending": pending.id, "running": running.id, "done": done[0].id}


def test_status_reports_current_work_approvals_activity_and_performance(
    client: httpx.Client, tenant: CreatedKey, db: Database
) -> None:
    agent = _create(client)
    ids = _seed_work(db, tenant.tenant_id, uuid.UUID(agent["id"]))

    response = client.get(f"/v1/agents/{agent['id']}/status")

    assert response.status_code == 200, response.text
    report = response.json()
    assert report["agent"]["id"] == agent["id"]
    assert [t["id"] for t in report["current_tasks"]] == [str(ids["pending"]), str(ids["running"])]
    assert report["pending_approvals"] == 2
    assert [a["action"] for a in report["recent_activity"]] == [f"step.{n}" for n in range(10)]
    assert report["performance"] == {
        "window_days": 7,
        "tasks_completed": 3,
        "tasks_failed": 1,
        "success_rate": 0.75,
        "drafts_created": 4,
        "approvals_approved": 1,
        "approvals_rejected": 1,
    }


def test_status_of_an_idle_agent_is_empty(client: httpx.Client) -> None:
    agent = _create(client, "enrichment")
    report = client.get(f"/v1/agents/{agent['id']}/status").json()
    assert report["current_tasks"] == []
    assert report["recent_activity"] == []
    assert report["performance"]["success_rate"] is None


def test_delete_cascades_to_the_agents_tasks(
    client: httpx.Client, tenant: CreatedKey, db: Database, owner_db: Database
) -> None:
    agent = _create(client)
    ids = _seed_work(db, tenant.tenant_id, uuid.UUID(agent["id"]))

    deleted = client.delete(f"/v1/agents/{agent['id']}")
    again = client.delete(f"/v1/agents/{agent['id']}")

    assert deleted.status_code == 204
    assert deleted.content == b""
    assert again.status_code == 404
    assert client.get(f"/v1/agents/{agent['id']}").status_code == 404
    with owner_db.unit_of_work() as uow:
        assert uow.session.get(Task, ids["pending"]) is None
        assert uow.session.get(Task, ids["done"]) is None
        items = uow.session.scalar(
            sa.select(sa.func.count())
            .select_from(ApprovalItem)
            .where(ApprovalItem.agent_id == uuid.UUID(agent["id"]))
        )
        assert items == 0
    actions = [e["payload"]["action"] for e in _agent_events(owner_db, agent["id"])]
    assert actions == ["created", "deleted"]


@pytest.mark.parametrize(("current", "code"), [("error", 200), ("active", 409)])
def test_resume_is_for_errored_agents_not_running_ones(
    client: httpx.Client, tenant: CreatedKey, db: Database, current: str, code: int
) -> None:
    agent = _create(client)
    with db.unit_of_work(tenant.tenant_id) as uow:
        uow.session.execute(
            sa.update(Agent).where(Agent.id == uuid.UUID(agent["id"])).values(status=current)
        )
        uow.commit()

    response = client.patch(f"/v1/agents/{agent['id']}", json={"status": "idle"})

    assert response.status_code == code, response.text
