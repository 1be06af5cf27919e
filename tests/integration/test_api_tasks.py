"""Ingest API: task acceptance writes task + outbox in one transaction; bad input is a clear 4xx."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import sqlalchemy as sa

from services.demo.seed import SeededTarget
from shared.db.database import Database
from shared.db.models import OutboxMessage, Task
from shared.tenancy import CreatedKey
from tests.support.api import auth, outreach_body, post_task

pytestmark = pytest.mark.integration


def _outbox_for(owner_db: Database, task_id: uuid.UUID) -> list[OutboxMessage]:
    with owner_db.unit_of_work() as uow:
        rows = uow.session.scalars(sa.select(OutboxMessage)).all()
        return [
            r
            for r in rows
            if r.payload.get("task_id") == str(task_id)
            or r.payload.get("aggregate_id") == str(task_id)
        ]


def test_post_task_is_accepted_with_its_outbox_rows(
    api: httpx.Client, tenant: CreatedKey, targets: list[SeededTarget], owner_db: Database
) -> None:
    response = post_task(api, tenant.token, outreach_body(targets[0].contact_id, priority="high"))

    assert response.status_code == 202, response.text
    task = response.json()
    assert task["status"] == "pending"
    assert task["priority"] == "high"
    assert response.headers["location"] == f"/v1/tasks/{task['id']}"
    rows = _outbox_for(owner_db, uuid.UUID(task["id"]))
    assert sorted((r.kind, r.destination) for r in rows) == [
        ("event", "task.queued"),
        ("task", "outreach"),
    ]
    dispatch = next(r for r in rows if r.kind == "task")
    assert dispatch.payload["schema_version"] == 1
    assert dispatch.payload["tenant_id"] == str(tenant.tenant_id)
    assert dispatch.priority == 3
    fetched = api.get(f"/v1/tasks/{task['id']}", headers=auth(tenant.token))
    assert fetched.status_code == 200
    assert fetched.json()["id"] == task["id"]


def test_alias_and_producer_task_id_are_accepted(
    api: httpx.Client, tenant: CreatedKey, targets: list[SeededTarget]
) -> None:
    own_id = str(uuid.uuid4())
    body = outreach_body(targets[0].contact_id, agent_type="email_drafter", task_id=own_id)

    response = post_task(api, tenant.token, body)

    assert response.status_code == 202, response.text
    assert response.json()["id"] == own_id
    assert response.json()["agent_type"] == "outreach"


def test_fifty_concurrent_posts_with_one_idempotency_key_make_one_task(
    api_url: str, tenant: CreatedKey, targets: list[SeededTarget], db: Database
) -> None:
    key = f"idem-{uuid.uuid4()}"
    body = outreach_body(targets[1].contact_id)

    def post(_: int) -> httpx.Response:
        with httpx.Client(base_url=api_url, timeout=60) as client:
            return post_task(client, tenant.token, body, **{"Idempotency-Key": key})

    with ThreadPoolExecutor(max_workers=25) as pool:
        responses = list(pool.map(post, range(50)))

    assert {r.status_code for r in responses} == {202}, [
        r.text for r in responses if r.status_code != 202
    ][:2]
    assert len({r.json()["id"] for r in responses}) == 1
    assert sum(r.headers.get("idempotent-replayed") == "true" for r in responses) == 49
    with db.unit_of_work(tenant.tenant_id) as uow:
        count = uow.session.scalar(
            sa.select(sa.func.count()).select_from(Task).where(Task.idempotency_key == key)
        )
    assert count == 1


def test_same_idempotency_key_with_another_body_is_409(
    api: httpx.Client, tenant: CreatedKey, targets: list[SeededTarget]
) -> None:
    key = {"Idempotency-Key": f"idem-{uuid.uuid4()}"}
    first = post_task(api, tenant.token, outreach_body(targets[0].contact_id), **key)
    second = post_task(api, tenant.token, outreach_body(targets[1].contact_id), **key)

    assert first.status_code == 202
    assert second.status_code == 409
    assert second.headers["content-type"] == "application/problem+json"
    assert "Idempotency-Key" in second.json()["detail"]


@pytest.mark.parametrize(
    ("mutate", "status", "needle"),
    [
        (lambda b: {k: v for k, v in b.items() if k != "task_type"}, 422, "task_type"),
        (lambda b: {**b, "agent_type": "astrologer"}, 422, "unknown agent type"),
        (lambda b: {**b, "task_type": "source_leads"}, 422, "not handled by agent type"),
        (lambda b: {**b, "schema_version": 2}, 422, "schema_version"),
        (lambda b: {**b, "priority": "whenever"}, 422, "priority"),
        (lambda b: {**b, "input": {"contact_id": "not-a-uuid"}}, 422, "input.contact_id"),
        (lambda b: {**b, "input": {"contact_id": str(uuid.uuid4())}}, 422, "no contact"),
        (lambda b: {**b, "surprise": 1}, 422, "surprise"),
        (lambda b: {**b, "tenant_id": str(uuid.uuid4())}, 422, "tenant_id"),
    ],
)
def test_bad_task_bodies_get_problem_details(
    api: httpx.Client,
    tenant: CreatedKey,
    targets: list[SeededTarget],
    mutate: object,
    status: int,
    needle: str,
) -> None:
    body = mutate(outreach_body(targets[0].contact_id))  # type: ignore[operator]

    response = post_task(api, tenant.token, body)

    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == status
    assert needle in problem["detail"]


def test_malformed_json_and_oversized_bodies(api: httpx.Client, tenant: CreatedKey) -> None:
    headers = {**auth(tenant.token), "content-type": "application/json"}
    malformed = api.post("/v1/tasks", content=b'{"agent_type": ', headers=headers)
    huge = api.post("/v1/tasks", content=b"x" * (300 * 1024), headers=headers)

    assert malformed.status_code == 400
    assert malformed.json()["title"] == "Malformed JSON"
    assert huge.status_code == 413


@pytest.mark.parametrize(
    "header",
    [None, "Basic abc", "Bearer", "Bearer af_nope", "Bearer af_0011223344556677_wrongsecret"],
)
def test_requests_without_a_valid_key_are_401(api: httpx.Client, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    response = api.get(f"/v1/tasks/{uuid.uuid4()}", headers=headers)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["title"] == "Unauthorized"


def test_unknown_task_is_404(api: httpx.Client, tenant: CreatedKey) -> None:
    response = api.get(f"/v1/tasks/{uuid.uuid4()}", headers=auth(tenant.token))
    assert response.status_code == 404
    bad_id = api.get("/v1/tasks/not-a-uuid", headers=auth(tenant.token))
    assert bad_id.status_code == 422


def test_health_probes(api: httpx.Client) -> None:
    assert api.get("/healthz").json() == {"status": "ok"}
    assert api.get("/readyz").status_code == 200
