"""Approving with edits, the version check, and items past their expiry."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from services.demo.seed import SeededTarget
from shared.db.database import Database
from shared.settings import Settings
from shared.tenancy import CreatedKey
from tests.support.api import auth
from tests.support.approvals import (
    item_events,
    load_draft,
    load_item,
    make_pending_item,
    run_sql,
    send_dispatches,
    sends_of,
)
from workers.scheduler import Scheduler, build_scheduler

pytestmark = pytest.mark.integration

# The scheduler runs on a clock in 2001 so that it touches only this test's overdue item (see
# tests/integration/test_scheduler.py): nothing else in the run's database is due then.
EPOCH = datetime(2001, 1, 1, tzinfo=UTC)


@pytest.fixture
def scheduler(settings: Settings) -> Iterator[Scheduler]:
    built, database = build_scheduler(settings, clock=lambda: EPOCH)
    yield built
    database.dispose()


def test_an_edit_is_kept_with_its_diff_and_replaces_the_draft_text(
    api: httpx.Client,
    tenant: CreatedKey,
    targets: list[SeededTarget],
    db: Database,
    owner_db: Database,
) -> None:
    item_id = make_pending_item(db, tenant.tenant_id, targets[0])
    before = load_item(db, tenant.tenant_id, item_id)
    edit = {"version": before.version, "subject": "Quick question", "body": "Hi Maya,\nShort."}

    response = api.post(f"/v1/approvals/{item_id}/approve", json=edit, headers=auth(tenant.token))

    assert response.status_code == 200, response.text
    decided = response.json()
    assert decided["status"] == "edited"
    edited = decided["edited_content"]
    assert (edited["subject"], edited["body"]) == ("Quick question", "Hi Maya,\nShort.")
    assert edited["original"] == {"subject": "Hello", "body": f"Hi {targets[0].contact_name}"}
    assert edited["changed"] == ["subject", "body"]
    assert "-Subject: Hello" in edited["diff"]
    assert "+Subject: Quick question" in edited["diff"]
    assert "+Short." in edited["diff"]
    item = load_item(db, tenant.tenant_id, item_id)
    draft = load_draft(db, tenant.tenant_id, item.draft_id)
    assert (draft.subject, draft.body, draft.status) == (
        "Quick question",
        "Hi Maya,\nShort.",
        "approved",
    )
    assert draft.version == before.basis["draft_version"] + 1
    assert item.stale_at is None
    assert item.content["body"] == f"Hi {targets[0].contact_name}"
    [event] = item_events(owner_db, item_id)
    assert event["event_type"] == "approval.edited"
    assert event["payload"]["changed"] == ["subject", "body"]
    assert event["payload"]["reviewer"] == str(tenant.key_id)
    [send] = sends_of(db, tenant.tenant_id, item.draft_id)
    assert decided["send"]["id"] == str(send.id)
    assert send_dispatches(owner_db, item.draft_id) == ["sender"]


def test_an_edit_that_changes_nothing_is_a_plain_approval(
    api: httpx.Client,
    tenant: CreatedKey,
    targets: list[SeededTarget],
    db: Database,
    owner_db: Database,
) -> None:
    item_id = make_pending_item(db, tenant.tenant_id, targets[0])
    same = {"subject": "Hello", "body": f"Hi {targets[0].contact_name}"}

    response = api.post(f"/v1/approvals/{item_id}/approve", json=same, headers=auth(tenant.token))

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "approved"
    assert response.json()["edited_content"] is None
    assert [e["event_type"] for e in item_events(owner_db, item_id)] == ["approval.approved"]


def test_invalid_edits_are_422_and_leave_the_item_pending(
    api: httpx.Client, tenant: CreatedKey, targets: list[SeededTarget], db: Database
) -> None:
    linkedin = make_pending_item(db, tenant.tenant_id, targets[0], channel="linkedin")
    email = make_pending_item(db, tenant.tenant_id, targets[1])
    headers = auth(tenant.token)

    subject_on_linkedin = api.post(
        f"/v1/approvals/{linkedin}/approve", json={"subject": "Hi"}, headers=headers
    )
    too_long = api.post(
        f"/v1/approvals/{email}/approve", json={"body": "x" * 20_001}, headers=headers
    )
    empty_body = api.post(f"/v1/approvals/{email}/approve", json={"body": ""}, headers=headers)
    blank_body = api.post(f"/v1/approvals/{email}/approve", json={"body": "  "}, headers=headers)
    unknown_field = api.post(f"/v1/approvals/{email}/approve", json={"tone": "x"}, headers=headers)
    body_on_linkedin = api.post(
        f"/v1/approvals/{linkedin}/approve", json={"body": "Hi there"}, headers=headers
    )

    codes = [
        r.status_code
        for r in (subject_on_linkedin, too_long, empty_body, blank_body, unknown_field)
    ]
    assert codes == [422, 422, 422, 422, 422]
    assert "no subject" in subject_on_linkedin.json()["detail"]
    assert load_item(db, tenant.tenant_id, email).status == "pending"
    assert body_on_linkedin.status_code == 200, body_on_linkedin.text
    assert body_on_linkedin.json()["status"] == "edited"
    assert body_on_linkedin.json()["send"]["status"] == "ready"


def test_a_decision_on_an_older_version_is_409_naming_both(
    api: httpx.Client, tenant: CreatedKey, targets: list[SeededTarget], db: Database
) -> None:
    item_id = make_pending_item(db, tenant.tenant_id, targets[0])
    run_sql(
        db, tenant.tenant_id, "UPDATE approval_items SET version = 3 WHERE id = :id", id=item_id
    )
    headers = auth(tenant.token)

    stale_approve = api.post(
        f"/v1/approvals/{item_id}/approve", json={"version": 2}, headers=headers
    )
    stale_reject = api.post(
        f"/v1/approvals/{item_id}/reject", json={"reason": "no", "version": 1}, headers=headers
    )
    current = api.post(f"/v1/approvals/{item_id}/approve", json={"version": 3}, headers=headers)

    assert stale_approve.status_code == 409
    assert "version 3" in stale_approve.json()["detail"]
    assert "version 2" in stale_approve.json()["detail"]
    assert stale_reject.status_code == 409
    assert current.status_code == 200, current.text
    assert current.json()["version"] == 4


def test_an_expired_item_cannot_be_decided_and_waits_for_the_scheduler(
    api: httpx.Client,
    tenant: CreatedKey,
    targets: list[SeededTarget],
    db: Database,
    owner_db: Database,
    scheduler: Scheduler,
) -> None:
    item_id = make_pending_item(
        db, tenant.tenant_id, targets[0], expires_at=EPOCH - timedelta(hours=1)
    )
    headers = auth(tenant.token)

    approve = api.post(f"/v1/approvals/{item_id}/approve", headers=headers)
    reject = api.post(f"/v1/approvals/{item_id}/reject", json={"reason": "late"}, headers=headers)
    waiting = load_item(db, tenant.tenant_id, item_id)
    cycle = scheduler.cycle()
    expired = load_item(db, tenant.tenant_id, item_id)
    after = api.post(f"/v1/approvals/{item_id}/approve", headers=headers)

    assert (approve.status_code, reject.status_code) == (409, 409)
    assert "expired" in approve.json()["detail"]
    assert waiting.status == "pending"
    assert waiting.reviewed_at is None
    assert cycle.expired >= 1
    assert expired.status == "expired"
    assert after.status_code == 409
    assert [e["event_type"] for e in item_events(owner_db, item_id)] == ["approval.expired"]
    assert sends_of(db, tenant.tenant_id, expired.draft_id) == []
