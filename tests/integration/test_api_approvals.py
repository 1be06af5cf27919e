"""The approval queue over HTTP: listing with filters, one item in full, the numbers, and
guarded decisions that write their event once."""

from __future__ import annotations

import uuid
from datetime import timedelta

import httpx
import pytest
import sqlalchemy as sa

from services.demo.seed import SeededTarget, seed_sample_crm
from shared.db.base import utcnow
from shared.db.database import Database
from shared.db.models import DailyMetric
from shared.roles import Role
from shared.tenancy import CreatedKey, create_api_key, create_tenant
from tests.support.api import auth
from tests.support.approvals import (
    ItemSpec,
    item_events,
    load_draft,
    load_item,
    make_pending_item,
    make_pending_items,
    run_sql,
    sends_of,
)

pytestmark = pytest.mark.integration


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
    decided = approved.json()
    assert decided["status"] == "approved"
    assert decided["reviewer"] == str(tenant.key_id)
    assert api.get("/v1/approvals", headers=auth(tenant.token)).json()["total"] == 0
    assert [e["event_type"] for e in item_events(owner_db, item_id)] == ["approval.approved"]
    item = load_item(db, tenant.tenant_id, item_id)
    draft = load_draft(db, tenant.tenant_id, item.draft_id)
    assert draft.status == "approved"
    assert item.reviewer_key_id == tenant.key_id
    assert item.reviewed_at is not None
    [send] = sends_of(db, tenant.tenant_id, item.draft_id)
    assert decided["send"] == {
        "id": str(send.id),
        "status": "queued",
        "channel": "email",
        "to_address": send.to_address,
        "message_id": send.message_id,
        "sent_at": None,
    }
    with db.unit_of_work(tenant.tenant_id) as uow:
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
    assert rejected.json()["send"] is None
    assert approve_after.status_code == 409
    assert "rejected" in approve_after.json()["detail"]
    item = load_item(db, tenant.tenant_id, item_id)
    assert load_draft(db, tenant.tenant_id, item.draft_id).status == "rejected"
    assert sends_of(db, tenant.tenant_id, item.draft_id) == []


def test_filters_order_and_totals(
    api: httpx.Client, tenant: CreatedKey, targets: list[SeededTarget], db: Database
) -> None:
    now = utcnow()
    specs = [
        ItemSpec(targets[0], priority="low", created_at=now - timedelta(minutes=1)),
        ItemSpec(targets[1], priority="urgent", created_at=now - timedelta(minutes=9)),
        ItemSpec(targets[2], priority="high", created_at=now - timedelta(minutes=8)),
        ItemSpec(targets[3], priority="high", created_at=now - timedelta(minutes=2)),
        ItemSpec(targets[4], channel="linkedin", created_at=now - timedelta(minutes=3)),
        ItemSpec(targets[5], agent_type="followup", created_at=now - timedelta(minutes=4)),
        ItemSpec(targets[0], priority="urgent", created_at=now - timedelta(minutes=5)),
    ]
    low, urgent_old, high_old, high_new, linkedin, followup, urgent_new = make_pending_items(
        db, tenant.tenant_id, specs
    )
    headers = auth(tenant.token)
    decided = api.post(f"/v1/approvals/{urgent_new}/reject", json={"reason": "no"}, headers=headers)
    run_sql(
        db,
        tenant.tenant_id,
        "UPDATE contacts SET title = 'Chief Operating Officer' WHERE id = :id",
        id=targets[4].contact_id,
    )

    def ids(**params: object) -> tuple[list[str], int]:
        response = api.get("/v1/approvals", params=params, headers=headers)
        assert response.status_code == 200, response.text
        page = response.json()
        return [item["id"] for item in page["items"]], page["total"]

    assert decided.status_code == 200
    expected = [urgent_old, high_new, high_old, linkedin, followup, low]
    assert ids() == ([str(i) for i in expected], 6)
    assert ids(limit=2, offset=1) == ([str(high_new), str(high_old)], 6)
    assert ids(status="all")[1] == 7
    assert ids(status="rejected") == ([str(urgent_new)], 1)
    assert ids(agent_type="followup") == ([str(followup)], 1)
    assert ids(agent_type="email_drafter")[1] == 5
    assert ids(item_type="linkedin_draft") == ([str(linkedin)], 1)
    assert ids(priority="high") == ([str(high_new), str(high_old)], 2)
    assert ids(contact_id=str(targets[0].contact_id)) == ([str(low)], 1)
    assert ids(contact_id=str(targets[0].contact_id), status="all")[1] == 2
    assert ids(opportunity_id=str(targets[2].opportunity_id)) == ([str(high_old)], 1)
    assert ids(stale="true") == ([str(linkedin)], 1)
    assert ids(stale="false")[1] == 5
    listed = api.get("/v1/approvals", params={"stale": "true"}, headers=headers).json()["items"]
    assert listed[0]["stale"] is True
    assert listed[0]["stale_reason"] == "contact changed"
    assert listed[0]["contact_id"] == str(targets[4].contact_id)
    assert listed[0]["opportunity_id"] == str(targets[4].opportunity_id)
    assert listed[0]["account_id"] is not None
    bad_type = api.get("/v1/approvals", params={"agent_type": "nope"}, headers=headers)
    bad_status = api.get("/v1/approvals", params={"status": "nope"}, headers=headers)
    assert (bad_type.status_code, bad_status.status_code) == (422, 422)


def test_one_item_in_full(
    api: httpx.Client, tenant: CreatedKey, targets: list[SeededTarget], db: Database
) -> None:
    target = targets[0]
    item_id = make_pending_item(db, tenant.tenant_id, target)
    headers = auth(tenant.token)

    pending = api.get(f"/v1/approvals/{item_id}", headers=headers).json()
    api.post(f"/v1/approvals/{item_id}/approve", headers=headers).raise_for_status()
    approved = api.get(f"/v1/approvals/{item_id}", headers=headers).json()

    assert pending["id"] == str(item_id)
    assert pending["draft"]["subject"] == "Hello"
    assert pending["draft"]["reasoning"]
    assert pending["draft"]["key_points"] == ["the upcoming event"]
    [fact] = pending["draft"]["facts_used"]
    assert (fact["source"], fact["record_id"]) == ("contact.first_name", str(target.contact_id))
    assert pending["contact"]["name"] == target.contact_name
    assert pending["contact"]["email"].endswith(".example")
    assert pending["account"]["name"] == target.company
    assert pending["opportunity"]["id"] == str(target.opportunity_id)
    assert pending["opportunity"]["title"]
    assert pending["basis"]["recorded"] == pending["basis"]["current"]
    assert set(pending["basis"]["recorded"]) == {
        "draft_version",
        "contact_version",
        "account_version",
    }
    assert pending["basis"]["changed"] == []
    assert pending["send"] is None
    assert approved["status"] == "approved"
    assert approved["send"]["status"] == "queued"
    assert approved["send"]["message_id"] == f"<{approved['draft_id']}.send@agentfleet.invalid>"


def test_stats_count_the_queue(
    api: httpx.Client, tenant: CreatedKey, targets: list[SeededTarget], db: Database
) -> None:
    headers = auth(tenant.token)
    empty = api.get("/v1/approvals/stats", headers=headers).json()
    hour_ago = utcnow() - timedelta(hours=1)
    specs = [
        ItemSpec(targets[0], created_at=hour_ago),
        ItemSpec(targets[1]),
        ItemSpec(targets[2], agent_type="followup"),
        ItemSpec(targets[3]),
        ItemSpec(targets[4]),
        ItemSpec(targets[5]),
    ]
    oldest, _, _, to_approve, to_edit, to_reject = make_pending_items(db, tenant.tenant_id, specs)
    api.post(f"/v1/approvals/{to_approve}/approve", headers=headers).raise_for_status()
    api.post(
        f"/v1/approvals/{to_edit}/approve", json={"body": "Shorter."}, headers=headers
    ).raise_for_status()
    api.post(
        f"/v1/approvals/{to_reject}/reject", json={"reason": "off"}, headers=headers
    ).raise_for_status()
    run_sql(
        db,
        tenant.tenant_id,
        "UPDATE approval_items SET stale_at = now(), stale_reason = 'draft changed' WHERE id = :id",
        id=oldest,
    )

    stats = api.get("/v1/approvals/stats", headers=headers).json()

    assert empty["oldest_pending_age_s"] is None
    assert empty["approved_today"] == 0
    assert stats["by_status"] == {
        "pending": 3,
        "approved": 1,
        "edited": 1,
        "rejected": 1,
        "expired": 0,
    }
    assert stats["pending_by_agent_type"] == {"followup": 1, "outreach": 2}
    assert stats["approved_today"] == 2
    assert 3600 <= stats["oldest_pending_age_s"] < 3 * 3600
    assert stats["stale_pending"] == 1


def test_viewer_key_reads_but_cannot_decide(
    api: httpx.Client, tenant: CreatedKey, targets: list[SeededTarget], db: Database
) -> None:
    item_id = make_pending_item(db, tenant.tenant_id, targets[0])
    viewer = create_api_key(db, tenant.tenant_id, name="viewer", role=Role.VIEWER)
    headers = auth(viewer.token)

    reads = [
        api.get(path, headers=headers).status_code
        for path in ("/v1/approvals", "/v1/approvals/stats", f"/v1/approvals/{item_id}")
    ]
    denied = api.post(f"/v1/approvals/{item_id}/approve", headers=headers)
    refused = [
        api.post(f"/v1/approvals/{item_id}/refresh", headers=headers).status_code,
        api.post(
            "/v1/approvals/bulk/approve", json={"ids": [str(item_id)]}, headers=headers
        ).status_code,
    ]

    assert reads == [200, 200, 200]
    assert denied.status_code == 403
    assert "approvals:write" in denied.json()["detail"]
    assert refused == [403, 403]
    assert load_item(db, tenant.tenant_id, item_id).status == "pending"


def test_unknown_and_foreign_items_are_404(
    api: httpx.Client, tenant: CreatedKey, targets: list[SeededTarget], db: Database
) -> None:
    other = create_api_key(db, create_tenant(db, "Other Tenant"))
    foreign = make_pending_item(
        db, other.tenant_id, seed_sample_crm(db, other.tenant_id, contacts=1)[0]
    )
    headers = auth(tenant.token)

    unknown = api.post(f"/v1/approvals/{uuid.uuid4()}/approve", headers=headers)
    foreign_read = api.get(f"/v1/approvals/{foreign}", headers=headers)
    foreign_approve = api.post(f"/v1/approvals/{foreign}/approve", headers=headers)

    assert (unknown.status_code, foreign_read.status_code, foreign_approve.status_code) == (
        404,
        404,
        404,
    )
    assert load_item(db, other.tenant_id, foreign).status == "pending"
