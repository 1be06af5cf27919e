"""Racing decisions on one item over real HTTP: one transition, one event, one queued send."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from services.demo.seed import SeededTarget
from shared.db.database import Database
from shared.tenancy import CreatedKey
from tests.support.api import auth
from tests.support.approvals import (
    item_events,
    load_draft,
    load_item,
    make_pending_item,
    send_dispatches,
    sends_of,
)

pytestmark = pytest.mark.integration

Call = Callable[[httpx.Client], httpx.Response]


def race(api_url: str, calls: list[Call]) -> list[httpx.Response]:
    """Run every call at once, each from its own thread and connection."""
    barrier = threading.Barrier(len(calls))

    def run(call: Call) -> httpx.Response:
        with httpx.Client(base_url=api_url, timeout=60) as client:
            barrier.wait(timeout=30)
            return call(client)

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def test_twenty_concurrent_approvals_make_one_transition_one_event_and_one_send(
    api_url: str,
    tenant: CreatedKey,
    targets: list[SeededTarget],
    db: Database,
    owner_db: Database,
) -> None:
    item_id = make_pending_item(db, tenant.tenant_id, targets[0])
    headers = auth(tenant.token)

    def approve(client: httpx.Client) -> httpx.Response:
        return client.post(f"/v1/approvals/{item_id}/approve", headers=headers)

    responses = race(api_url, [approve] * 20)

    codes = sorted(r.status_code for r in responses)
    assert codes == [200] + [409] * 19, [r.text for r in responses if r.status_code != 409]
    item = load_item(db, tenant.tenant_id, item_id)
    assert (item.status, item.version) == ("approved", 2)
    assert [e["event_type"] for e in item_events(owner_db, item_id)] == ["approval.approved"]
    [send] = sends_of(db, tenant.tenant_id, item.draft_id)
    assert send.dedup_key == f"send:{item.draft_id}"
    assert send_dispatches(owner_db, item.draft_id) == ["sender"]
    [winner] = [r.json() for r in responses if r.status_code == 200]
    assert winner["send"]["id"] == str(send.id)


@pytest.mark.parametrize("round_", range(3))
def test_an_approve_reject_race_ends_in_one_terminal_state(
    round_: int,
    api_url: str,
    tenant: CreatedKey,
    targets: list[SeededTarget],
    db: Database,
    owner_db: Database,
) -> None:
    item_id = make_pending_item(db, tenant.tenant_id, targets[round_])
    headers = auth(tenant.token)

    def approve(client: httpx.Client) -> httpx.Response:
        return client.post(f"/v1/approvals/{item_id}/approve", headers=headers)

    def reject(client: httpx.Client) -> httpx.Response:
        return client.post(
            f"/v1/approvals/{item_id}/reject", json={"reason": "not now"}, headers=headers
        )

    approved, rejected = race(api_url, [approve, reject])

    assert sorted([approved.status_code, rejected.status_code]) == [200, 409]
    winner, loser = (approved, rejected) if approved.status_code == 200 else (rejected, approved)
    item = load_item(db, tenant.tenant_id, item_id)
    assert item.status == winner.json()["status"]
    assert item.status in loser.json()["detail"]
    draft = load_draft(db, tenant.tenant_id, item.draft_id)
    events = [e["event_type"] for e in item_events(owner_db, item_id)]
    sends = sends_of(db, tenant.tenant_id, item.draft_id)
    if item.status == "approved":
        assert (draft.status, events, len(sends)) == ("approved", ["approval.approved"], 1)
    else:
        assert (draft.status, events, sends) == ("rejected", ["approval.rejected"], [])
        assert item.rejection_reason == "not now"
