"""Approval endpoints: guarded transitions that write their event exactly once."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import sqlalchemy as sa

from services.demo.seed import SeededTarget
from shared.db.database import Database
from shared.db.models import ApprovalItem, DailyMetric, Draft, OutboxMessage
from shared.roles import Role
from shared.tenancy import CreatedKey, create_api_key
from tests.support.api import auth
from tests.support.approvals import make_pending_item

pytestmark = pytest.mark.integration


def _events_for(owner_db: Database, item_id: uuid.UUID) -> list[str]:
    with owner_db.unit_of_work() as uow:
        rows = uow.session.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.kind == "event")
        ).all()
        return [r.destination for r in rows if r.payload["aggregate_id"] == str(item_id)]


def test_pending_items_are_listed_and_approved(
    api: httpx.Client,
    tenant: CreatedKey,
    targets: list[SeededTarget],
    db: Database,
    owner_db: Database,
) -> None:
    item_id = make_pending_item(db, tenant.tenant_id, targets[0])

    page = api.get("/v1/approvals", headers=auth(tenant.token)).json()
    approved = api.post(f"/v1/approvals/{item_id}/approve", headers=auth(tenant.token))

    assert page["total"] == 1
    assert page["items"][0]["id"] == str(item_id)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    assert api.get("/v1/approvals", headers=auth(tenant.token)).json()["total"] == 0
    assert _events_for(owner_db, item_id) == ["approval.approved"]
    with db.unit_of_work(tenant.tenant_id) as uow:
        item = uow.session.get(ApprovalItem, item_id)
        assert item is not None
        draft = uow.session.get(Draft, item.draft_id)
        assert draft is not None
        assert draft.status == "approved"
        assert item.reviewer_key_id == tenant.key_id
        assert item.reviewed_at is not None
        counted = uow.session.execute(
            sa.select(DailyMetric.approvals_approved, DailyMetric.approvals_rejected).where(
                DailyMetric.tenant_id == tenant.tenant_id, DailyMetric.agent_type == "outreach"
            )
        ).all()
        assert [tuple(row) for row in counted] == [(1, 0)]


def test_reject_needs_a_reason_and_guards_the_transition(
    api: httpx.Client, tenant: CreatedKey, targets: list[SeededTarget], db: Database
) -> None:
    item_id = make_pending_item(db, tenant.tenant_id, targets[0])
    headers = auth(tenant.token)

    no_reason = api.post(f"/v1/approvals/{item_id}/reject", json={}, headers=headers)
    rejected = api.post(
        f"/v1/approvals/{item_id}/reject", json={"reason": "too pushy"}, headers=headers
    )
    approve_after = api.post(f"/v1/approvals/{item_id}/approve", headers=headers)

    assert no_reason.status_code == 422
    assert rejected.status_code == 200
    assert rejected.json()["rejection_reason"] == "too pushy"
    assert approve_after.status_code == 409
    assert "rejected" in approve_after.json()["detail"]


def test_two_concurrent_approvals_make_one_transition_and_one_event(
    api_url: str,
    tenant: CreatedKey,
    targets: list[SeededTarget],
    db: Database,
    owner_db: Database,
) -> None:
    for target in targets[:5]:
        item_id = make_pending_item(db, tenant.tenant_id, target)

        def approve(_: int, item: uuid.UUID = item_id) -> int:
            with httpx.Client(base_url=api_url, timeout=30) as client:
                url = f"/v1/approvals/{item}/approve"
                return client.post(url, headers=auth(tenant.token)).status_code

        with ThreadPoolExecutor(max_workers=2) as pool:
            codes = sorted(pool.map(approve, range(2)))

        assert codes == [200, 409]
        assert _events_for(owner_db, item_id) == ["approval.approved"]


def test_viewer_key_cannot_decide(
    api: httpx.Client, tenant: CreatedKey, targets: list[SeededTarget], db: Database
) -> None:
    item_id = make_pending_item(db, tenant.tenant_id, targets[0])
    viewer = create_api_key(db, tenant.tenant_id, name="viewer", role=Role.VIEWER)

    listed = api.get("/v1/approvals", headers=auth(viewer.token))
    denied = api.post(f"/v1/approvals/{item_id}/approve", headers=auth(viewer.token))

    assert listed.status_code == 200
    assert denied.status_code == 403
    assert "approvals:write" in denied.json()["detail"]


def test_unknown_item_is_404(api: httpx.Client, tenant: CreatedKey) -> None:
    response = api.post(f"/v1/approvals/{uuid.uuid4()}/approve", headers=auth(tenant.token))
    assert response.status_code == 404
