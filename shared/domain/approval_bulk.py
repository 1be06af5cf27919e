"""Deciding many approval items at once: each in its own transaction, so one item that cannot
be decided never undoes the others, and every id gets its own outcome."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from shared.db.database import Database
from shared.db.unit_of_work import UnitOfWork
from shared.domain.approvals import (
    GUIDANCE_WINDOW,
    Decision,
    Reviewer,
    approve_item,
    reject_item,
)
from shared.errors import IllegalTransition, NotDecidable, NotFound

__all__ = ["MAX_BULK_ITEMS", "BulkOutcome", "BulkResult", "bulk_approve", "bulk_reject"]

MAX_BULK_ITEMS = 100


class BulkOutcome(StrEnum):
    APPROVED = "approved"
    REJECTED = "rejected"
    ALREADY_DECIDED = "already_decided"
    EXPIRED = "expired"
    STALE = "stale"
    NOT_FOUND = "not_found"


@dataclass(frozen=True)
class BulkResult:
    id: uuid.UUID
    outcome: BulkOutcome
    status: str | None
    """The item's status after the attempt; None when there is no such item."""
    detail: str


def bulk_approve(
    db: Database,
    tenant_id: uuid.UUID,
    item_ids: Sequence[uuid.UUID],
    reviewer: Reviewer,
    *,
    platform_from: str | None = None,
    guidance_window: int = GUIDANCE_WINDOW,
) -> list[BulkResult]:
    """Approve each item (and queue its send) in its own transaction; results in id order."""

    def approve(uow: UnitOfWork, item_id: uuid.UUID) -> Decision:
        return approve_item(
            uow,
            tenant_id,
            item_id,
            reviewer,
            platform_from=platform_from,
            guidance_window=guidance_window,
        )

    return _decide_each(db, tenant_id, item_ids, approve, BulkOutcome.APPROVED)


def bulk_reject(
    db: Database,
    tenant_id: uuid.UUID,
    item_ids: Sequence[uuid.UUID],
    reviewer: Reviewer,
    reason: str,
    *,
    guidance_window: int = GUIDANCE_WINDOW,
) -> list[BulkResult]:
    """Reject each item with the same reason, each in its own transaction; results in id order."""

    def reject(uow: UnitOfWork, item_id: uuid.UUID) -> Decision:
        return reject_item(
            uow, tenant_id, item_id, reviewer, reason, guidance_window=guidance_window
        )

    return _decide_each(db, tenant_id, item_ids, reject, BulkOutcome.REJECTED)


def _decide_each(
    db: Database,
    tenant_id: uuid.UUID,
    item_ids: Sequence[uuid.UUID],
    decide: Callable[[UnitOfWork, uuid.UUID], Decision],
    done: BulkOutcome,
) -> list[BulkResult]:
    return [_decide_one(db, tenant_id, item_id, decide, done) for item_id in item_ids]


def _decide_one(
    db: Database,
    tenant_id: uuid.UUID,
    item_id: uuid.UUID,
    decide: Callable[[UnitOfWork, uuid.UUID], Decision],
    done: BulkOutcome,
) -> BulkResult:
    with db.unit_of_work(tenant_id) as uow:
        try:
            decision = decide(uow, item_id)
        except NotFound as exc:
            return BulkResult(item_id, BulkOutcome.NOT_FOUND, None, str(exc))
        except IllegalTransition as exc:
            detail = f"already {exc.current}; left as it was"
            return BulkResult(item_id, BulkOutcome.ALREADY_DECIDED, exc.current, detail)
        except NotDecidable as exc:
            return BulkResult(item_id, BulkOutcome(exc.reason), "pending", str(exc))
    item, send = decision.item, decision.send
    detail = f"{item.status}; send {send.status}" if send is not None else item.status
    return BulkResult(item_id, done, item.status, detail)
