"""``/v1/agents/{id}/metrics`` and ``/v1/agents/{id}/activity`` over real HTTP, with the
daily counters written by completing and failing real task rows."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
import pytest
import sqlalchemy as sa

from shared.agents.daily_metrics import bump_daily_metrics
from shared.db.base import utcnow
from shared.db.database import Database
from shared.db.models import ActivityLogEntry, ActorKind, DailyMetric, Task
from shared.domain.tasks import complete_task, fail_task
from shared.lifecycles import TaskStatus
from shared.roles import Role
from shared.tenancy import CreatedKey, create_api_key, create_tenant
from tests.support.api import auth

pytestmark = pytest.mark.integration


def create_agent(api: httpx.Client, token: str, agent_type: str = "outreach") -> uuid.UUID:
    response = api.post(
        "/v1/agents",
        json={"agent_type": agent_type, "name": f"agent-{uuid.uuid4().hex[:8]}"},
        headers=auth(token),
    )
    assert response.status_code == 201, response.text
    return uuid.UUID(response.json()["id"])


def running_task(
    db: Database,
    tenant_id: uuid.UUID,
    agent_id: uuid.UUID | None,
    *,
    input_agent: uuid.UUID | None = None,
) -> uuid.UUID:
    named = {"agent_id": str(input_agent)} if input_agent else {}
    task_id = uuid.uuid4()
    with db.unit_of_work(tenant_id) as uow:
        uow.session.add(
            Task(
                id=task_id,
                tenant_id=tenant_id,
                agent_id=agent_id,
                agent_type="outreach",
                task_type="draft_outreach",
                status=TaskStatus.IN_PROGRESS.value,
                input={"contact_id": str(uuid.uuid4()), **named},
            )
        )
        uow.commit()
    return task_id


def finish(db: Database, tenant_id: uuid.UUID, task_id: uuid.UUID, *, ok: bool, **kw: int) -> None:
    with db.unit_of_work(tenant_id) as uow:
        task = uow.session.get(Task, task_id)
        assert task is not None
        if ok:
            complete_task(uow, task, {"done": True}, **kw)
        else:
            fail_task(uow, task, "provider said no")
        uow.commit()


def metrics(api: httpx.Client, token: str, agent_id: uuid.UUID, **params: str) -> httpx.Response:
    return api.get(f"/v1/agents/{agent_id}/metrics", params=params, headers=auth(token))


def around_today() -> dict[str, str]:
    today = utcnow().date()
    return {
        "startDate": (today - timedelta(days=1)).isoformat(),
        "endDate": (today + timedelta(days=1)).isoformat(),
    }


def test_completed_and_failed_tasks_add_up_in_the_metrics(
    api: httpx.Client, db: Database, tenant: CreatedKey
) -> None:
    agent_id = create_agent(api, tenant.token)
    for succeeded, failed in ((1, 0), (3, 1)):
        task_id = running_task(db, tenant.tenant_id, agent_id)
        finish(db, tenant.tenant_id, task_id, ok=True, succeeded=succeeded, failed=failed)
    finish(db, tenant.tenant_id, running_task(db, tenant.tenant_id, agent_id), ok=False)
    named_in_input = running_task(db, tenant.tenant_id, None, input_agent=agent_id)
    finish(db, tenant.tenant_id, named_in_input, ok=True)
    finish(db, tenant.tenant_id, running_task(db, tenant.tenant_id, None), ok=True)

    response = metrics(api, tenant.token, agent_id, **around_today())

    assert response.status_code == 200, response.text
    body = response.json()
    summary = body["summary"]
    assert summary["tasks_completed"] == 3
    assert summary["tasks_failed"] == 1
    assert summary["items_processed"] == 6
    assert summary["messages_sent"] == 0
    assert summary["response_rate"] is None
    assert len(body["series"]) == 3
    assert sum(point["tasks_completed"] for point in body["series"]) == 3
    with db.unit_of_work(tenant.tenant_id) as uow:
        unassigned = uow.session.scalar(
            sa.select(sa.func.sum(DailyMetric.tasks_completed)).where(
                DailyMetric.tenant_id == tenant.tenant_id, DailyMetric.agent_id.is_(None)
            )
        )
    assert unassigned == 1


def test_series_group_by_week_and_month_with_rates(
    api: httpx.Client, db: Database, tenant: CreatedKey
) -> None:
    agent_id = create_agent(api, tenant.token)
    bumps = {
        date(2026, 3, 2): {"messages_sent": 4, "responses": 1, "response_time_s_total": 600},
        date(2026, 3, 8): {"messages_sent": 6, "responses": 3, "response_time_s_total": 900},
        date(2026, 4, 1): {"messages_sent": 10, "opportunities_identified": 2},
    }
    with db.unit_of_work(tenant.tenant_id) as uow:
        for day, counters in bumps.items():
            for _ in range(2):
                bump_daily_metrics(
                    uow,
                    tenant_id=tenant.tenant_id,
                    agent_id=agent_id,
                    agent_type="outreach",
                    day=day,
                    **counters,
                )
        uow.commit()
    window = {"startDate": "2026-03-01", "endDate": "2026-04-03"}

    weekly = metrics(api, tenant.token, agent_id, groupBy="week", **window).json()
    monthly = metrics(api, tenant.token, agent_id, groupBy="month", **window).json()

    assert [p["period_start"] for p in weekly["series"]][:3] == [
        "2026-03-01",
        "2026-03-02",
        "2026-03-09",
    ]
    first_full_week = weekly["series"][1]
    assert first_full_week["period_end"] == "2026-03-08"
    assert first_full_week["messages_sent"] == 20
    assert first_full_week["responses_received"] == 8
    assert first_full_week["response_rate"] == 0.4
    assert first_full_week["average_response_time_s"] == 375.0
    assert [(p["period_start"], p["period_end"]) for p in monthly["series"]] == [
        ("2026-03-01", "2026-03-31"),
        ("2026-04-01", "2026-04-03"),
    ]
    assert monthly["series"][1]["opportunities_identified"] == 4
    assert monthly["summary"]["messages_sent"] == 40
    assert monthly["summary"]["response_rate"] == 0.2
    assert monthly["group_by"] == "month"


@pytest.mark.parametrize(
    "params",
    [
        {"startDate": "2026-13-01"},
        {"endDate": "yesterday"},
        {"groupBy": "year"},
        {"startDate": "2026-03-10", "endDate": "2026-03-01"},
        {"startDate": "2020-01-01", "endDate": "2026-01-01"},
    ],
)
def test_bad_metrics_queries_are_400_problems(
    api: httpx.Client, tenant: CreatedKey, params: dict[str, str]
) -> None:
    agent_id = create_agent(api, tenant.token)
    response = metrics(api, tenant.token, agent_id, **params)
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 400


def add_entry(
    db: Database, tenant_id: uuid.UUID, agent_id: uuid.UUID, action: str, at: datetime
) -> None:
    with db.unit_of_work(tenant_id) as uow:
        uow.session.add(
            ActivityLogEntry(
                tenant_id=tenant_id,
                agent_id=agent_id,
                actor_kind=ActorKind.AGENT,
                actor_id="outreach",
                action=action,
                details={"n": at.hour},
                created_at=at,
            )
        )
        uow.commit()


def test_activity_filters_and_pages(api: httpx.Client, db: Database, tenant: CreatedKey) -> None:
    agent_id = create_agent(api, tenant.token)
    base = datetime(2026, 5, 1, tzinfo=UTC)
    for hour in range(6):
        action = "draft.created" if hour % 2 == 0 else "approval.approved"
        add_entry(db, tenant.tenant_id, agent_id, action, base + timedelta(hours=hour))
    url = f"/v1/agents/{agent_id}/activity"

    everything = api.get(url, headers=auth(tenant.token)).json()
    drafts = api.get(
        url, params={"action": "draft.created", "limit": 2}, headers=auth(tenant.token)
    ).json()
    second_page = api.get(
        url, params={"action": "draft.created", "limit": 2, "offset": 2}, headers=auth(tenant.token)
    ).json()
    window = api.get(
        url,
        params={"since": "2026-05-01T01:00:00Z", "until": "2026-05-01T04:00:00"},
        headers=auth(tenant.token),
    ).json()
    both = api.get(
        url,
        params=[("action", "draft.created"), ("action", "approval.approved")],
        headers=auth(tenant.token),
    ).json()

    assert everything["total"] == 6
    assert [e["details"]["n"] for e in everything["items"]] == [5, 4, 3, 2, 1, 0]
    assert drafts["total"] == 3
    assert [e["details"]["n"] for e in drafts["items"]] == [4, 2]
    assert [e["details"]["n"] for e in second_page["items"]] == [0]
    assert [e["details"]["n"] for e in window["items"]] == [3, 2, 1]
    assert both["total"] == 6


@pytest.mark.parametrize(
    "params", [{"since": "last week"}, {"since": "2026-05-02", "until": "2026-05-01"}]
)
def test_bad_activity_queries_are_400(
    api: httpx.Client, tenant: CreatedKey, params: dict[str, str]
) -> None:
    agent_id = create_agent(api, tenant.token)
    response = api.get(f"/v1/agents/{agent_id}/activity", params=params, headers=auth(tenant.token))
    assert response.status_code == 400, response.text


def test_a_viewer_may_read_and_another_tenant_may_not(
    api: httpx.Client, db: Database, tenant: CreatedKey
) -> None:
    agent_id = create_agent(api, tenant.token)
    viewer = create_api_key(db, tenant.tenant_id, name="viewer", role=Role.VIEWER)
    stranger = create_api_key(db, create_tenant(db, "Stranger"))

    for path in ("metrics", "activity"):
        url = f"/v1/agents/{agent_id}/{path}"
        assert api.get(url, headers=auth(viewer.token)).status_code == 200
        assert api.get(url, headers=auth(stranger.token)).status_code == 404
        assert api.get(url).status_code == 401
