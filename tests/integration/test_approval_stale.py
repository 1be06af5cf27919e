"""Stale approval items: a change to the contact, account or draft behind a pending item
(whoever makes it, here plain SQL as the application role) blocks approval until the item is
refreshed from the rows as they are now."""

from __future__ import annotations

import httpx
import pytest

from services.demo.seed import SeededTarget
from shared.db.database import Database
from shared.tenancy import CreatedKey
from tests.support.api import auth
from tests.support.approvals import item_events, load_item, make_pending_item, run_sql, sends_of

pytestmark = pytest.mark.integration


def test_a_contact_change_blocks_approval_until_the_item_is_refreshed(
    api: httpx.Client,
    tenant: CreatedKey,
    targets: list[SeededTarget],
    db: Database,
    owner_db: Database,
) -> None:
    target = targets[0]
    item_id = make_pending_item(db, tenant.tenant_id, target)
    headers = auth(tenant.token)
    built = load_item(db, tenant.tenant_id, item_id)

    run_sql(
        db,
        tenant.tenant_id,
        "UPDATE contacts SET title = 'Chief Supply Chain Officer', version = version + 1 "
        "WHERE id = :id",
        id=target.contact_id,
    )
    stale = load_item(db, tenant.tenant_id, item_id)
    blocked = api.post(f"/v1/approvals/{item_id}/approve", headers=headers)
    detail = api.get(f"/v1/approvals/{item_id}", headers=headers).json()
    refreshed = api.post(f"/v1/approvals/{item_id}/refresh", headers=headers)
    fresh = load_item(db, tenant.tenant_id, item_id)
    approved = api.post(
        f"/v1/approvals/{item_id}/approve", json={"version": fresh.version}, headers=headers
    )

    assert (stale.stale_at is not None, stale.stale_reason) == (True, "contact changed")
    assert blocked.status_code == 409
    assert "stale" in blocked.json()["detail"]
    assert detail["stale"] is True
    assert detail["basis"]["changed"] == ["contact"]
    assert detail["basis"]["current"]["contact_version"] == built.basis["contact_version"] + 1
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["stale"] is False
    assert fresh.version == built.version + 1
    assert fresh.stale_at is None
    assert fresh.basis["contact_version"] == built.basis["contact_version"] + 1
    assert fresh.context["contact"]["title"] == "Chief Supply Chain Officer"
    assert fresh.context["account"]["name"] == target.company
    assert approved.status_code == 200, approved.text
    events = item_events(owner_db, item_id)
    assert [e["event_type"] for e in events] == ["approval.refreshed", "approval.approved"]
    assert events[0]["payload"]["stale_reason"] == "contact changed"
    assert events[0]["payload"]["reviewer"] == str(tenant.key_id)
    assert len(sends_of(db, tenant.tenant_id, fresh.draft_id)) == 1


def test_a_draft_change_marks_the_item_stale_and_a_refresh_takes_the_new_text(
    api: httpx.Client, tenant: CreatedKey, targets: list[SeededTarget], db: Database
) -> None:
    item_id = make_pending_item(db, tenant.tenant_id, targets[1])
    draft_id = load_item(db, tenant.tenant_id, item_id).draft_id
    headers = auth(tenant.token)

    run_sql(
        db, tenant.tenant_id, "UPDATE drafts SET body = 'Rewritten.' WHERE id = :id", id=draft_id
    )
    stale = load_item(db, tenant.tenant_id, item_id)
    blocked = api.post(f"/v1/approvals/{item_id}/approve", json={"body": "Mine."}, headers=headers)
    refreshed = api.post(f"/v1/approvals/{item_id}/refresh", headers=headers)
    approved = api.post(f"/v1/approvals/{item_id}/approve", headers=headers)

    assert stale.stale_reason == "draft changed"
    assert blocked.status_code == 409
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["content"]["body"] == "Rewritten."
    assert approved.status_code == 200, approved.text


def test_an_account_change_marks_the_item_stale_and_a_stale_item_can_still_be_rejected(
    api: httpx.Client, tenant: CreatedKey, targets: list[SeededTarget], db: Database
) -> None:
    item_id = make_pending_item(db, tenant.tenant_id, targets[2])
    account_id = load_item(db, tenant.tenant_id, item_id).account_id
    headers = auth(tenant.token)

    run_sql(
        db,
        tenant.tenant_id,
        "UPDATE accounts SET industry = 'Utilities' WHERE id = :id",
        id=account_id,
    )
    approve = api.post(f"/v1/approvals/{item_id}/approve", headers=headers)
    listed = api.get("/v1/approvals", params={"stale": "true"}, headers=headers).json()
    rejected = api.post(f"/v1/approvals/{item_id}/reject", json={"reason": "no"}, headers=headers)
    refresh_after = api.post(f"/v1/approvals/{item_id}/refresh", headers=headers)

    assert approve.status_code == 409
    assert [i["stale_reason"] for i in listed["items"]] == ["account changed"]
    assert rejected.status_code == 200, rejected.text
    assert load_item(db, tenant.tenant_id, item_id).status == "rejected"
    assert refresh_after.status_code == 409


def test_a_change_to_a_decided_item_s_records_leaves_it_alone(
    api: httpx.Client, tenant: CreatedKey, targets: list[SeededTarget], db: Database
) -> None:
    item_id = make_pending_item(db, tenant.tenant_id, targets[3])
    api.post(f"/v1/approvals/{item_id}/approve", headers=auth(tenant.token)).raise_for_status()

    run_sql(
        db,
        tenant.tenant_id,
        "UPDATE contacts SET title = 'Board Member' WHERE id = :id",
        id=targets[3].contact_id,
    )

    item = load_item(db, tenant.tenant_id, item_id)
    assert (item.status, item.stale_at) == ("approved", None)
