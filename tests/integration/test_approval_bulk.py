"""Bulk decisions: each id decided on its own, with its own outcome, and items already
decided (or expired, or stale) reported and left as they were."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa

from services.demo.seed import SeededTarget
from shared.db.base import utcnow
from shared.db.database import Database
from shared.db.models import ApprovalItem, MessageSend
from shared.tenancy import CreatedKey
from tests.support.api import auth
from tests.support.approvals import ItemSpec, make_pending_items, run_sql

pytestmark = pytest.mark.integration


def _items(db: Database, tenant: CreatedKey) -> dict[uuid.UUID, ApprovalItem]:
    with db.unit_of_work(tenant.tenant_id) as uow:
        return {item.id: item for item in uow.session.scalars(sa.select(ApprovalItem))}


def test_bulk_approve_of_a_hundred_ids_reports_each_and_redecides_none(
    api: httpx.Client, tenant: CreatedKey, targets: list[SeededTarget], db: Database
) -> None:
    headers = auth(tenant.token)
    specs = [ItemSpec(targets[i % len(targets)]) for i in range(99)]
    ids = make_pending_items(db, tenant.tenant_id, specs)
    approved_before, rejected_before = ids[:4], ids[4:7]
    expired, stale = ids[7:9], ids[9:11]
    for item_id in approved_before:
        api.post(f"/v1/approvals/{item_id}/approve", headers=headers).raise_for_status()
    for item_id in rejected_before:
        api.post(
            f"/v1/approvals/{item_id}/reject", json={"reason": "no"}, headers=headers
        ).raise_for_status()
    run_sql(
        db,
        tenant.tenant_id,
        "UPDATE approval_items SET expires_at = :past WHERE id = ANY(:ids)",
        past=utcnow() - timedelta(minutes=1),
        ids=expired,
    )
    run_sql(
        db,
        tenant.tenant_id,
        "UPDATE approval_items SET stale_at = now(), stale_reason = 'contact changed' "
        "WHERE id = ANY(:ids)",
        ids=stale,
    )
    before = _items(db, tenant)
    missing = uuid.uuid4()
    requested = [*ids[50:], missing, *ids[:50]]

    response = api.post(
        "/v1/approvals/bulk/approve", json={"ids": [str(i) for i in requested]}, headers=headers
    )

    assert response.status_code == 200, response.text
    body = response.json()
    assert [r["id"] for r in body["results"]] == [str(i) for i in requested]
    outcomes = {uuid.UUID(r["id"]): r for r in body["results"]}
    fresh = set(ids) - {*approved_before, *rejected_before, *expired, *stale}
    assert body["summary"] == {
        "approved": len(fresh),
        "rejected": 0,
        "already_decided": 7,
        "expired": 2,
        "stale": 2,
        "not_found": 1,
    }
    assert {outcomes[i]["outcome"] for i in fresh} == {"approved"}
    assert {outcomes[i]["status"] for i in fresh} == {"approved"}
    assert [outcomes[i]["status"] for i in approved_before + rejected_before] == [
        "approved"
    ] * 4 + ["rejected"] * 3
    assert {outcomes[i]["outcome"] for i in approved_before + rejected_before} == {
        "already_decided"
    }
    assert [outcomes[i]["outcome"] for i in expired + stale] == ["expired"] * 2 + ["stale"] * 2
    assert outcomes[missing] == {
        "id": str(missing),
        "outcome": "not_found",
        "status": None,
        "detail": f"approval item {missing} not found",
    }
    after = _items(db, tenant)
    for item_id in [*approved_before, *rejected_before, *expired, *stale]:
        was, now = before[item_id], after[item_id]
        assert (now.status, now.reviewed_at, now.version) == (
            was.status,
            was.reviewed_at,
            was.version,
        )
    assert {after[i].status for i in fresh} == {"approved"}
    with db.unit_of_work(tenant.tenant_id) as uow:
        sends = uow.session.scalar(sa.select(sa.func.count()).select_from(MessageSend))
    assert sends == len(fresh) + len(approved_before)


def test_bulk_reject_gives_every_item_the_reason(
    api: httpx.Client, tenant: CreatedKey, targets: list[SeededTarget], db: Database
) -> None:
    headers = auth(tenant.token)
    first, second, decided = make_pending_items(
        db, tenant.tenant_id, [ItemSpec(t) for t in targets[:3]]
    )
    api.post(f"/v1/approvals/{decided}/approve", headers=headers).raise_for_status()

    response = api.post(
        "/v1/approvals/bulk/reject",
        json={"ids": [str(first), str(decided), str(second)], "reason": "wrong segment"},
        headers=headers,
    )

    assert response.status_code == 200, response.text
    assert [(r["outcome"], r["status"]) for r in response.json()["results"]] == [
        ("rejected", "rejected"),
        ("already_decided", "approved"),
        ("rejected", "rejected"),
    ]
    items = _items(db, tenant)
    assert [items[i].rejection_reason for i in (first, second, decided)] == [
        "wrong segment",
        "wrong segment",
        None,
    ]


@pytest.mark.parametrize(
    "ids",
    [
        [],
        [str(uuid.uuid4()) for _ in range(101)],
        ["00000000-0000-0000-0000-000000000001"] * 2,
        ["not-a-uuid"],
    ],
    ids=["none", "over-a-hundred", "repeated", "malformed"],
)
def test_bulk_requests_outside_the_limits_are_422(
    api: httpx.Client, tenant: CreatedKey, ids: list[str]
) -> None:
    headers = auth(tenant.token)

    approve = api.post("/v1/approvals/bulk/approve", json={"ids": ids}, headers=headers)
    reject = api.post(
        "/v1/approvals/bulk/reject", json={"ids": ids, "reason": "no"}, headers=headers
    )

    assert (approve.status_code, reject.status_code) == (422, 422)
