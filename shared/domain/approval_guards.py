"""The checks before an approval item is decided or refreshed, on the item locked for it.

A decision needs the item pending, not past ``expires_at`` (even before the scheduler has
expired it), for an approval not stale (the records behind it changed), and, when the
reviewer says which version they saw, still at that version.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from shared.db.base import utcnow
from shared.db.models import ApprovalItem
from shared.db.unit_of_work import UnitOfWork
from shared.errors import Conflict, NotDecidable, NotFound, VersionMismatch
from shared.lifecycles import ApprovalStatus, check_transition

__all__ = ["ensure_decidable", "ensure_refreshable", "lock_item"]


def lock_item(uow: UnitOfWork, tenant_id: uuid.UUID, item_id: uuid.UUID) -> ApprovalItem:
    """The item, row-locked for this transaction and read fresh (a concurrent decision that
    committed first is seen); NotFound when the tenant has no such item."""
    item = uow.session.scalars(
        sa.select(ApprovalItem)
        .where(ApprovalItem.tenant_id == tenant_id, ApprovalItem.id == item_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if item is None:
        raise NotFound(f"approval item {item_id} not found")
    return item


def ensure_decidable(
    item: ApprovalItem, target: ApprovalStatus, *, seen_version: int | None = None
) -> ApprovalStatus:
    """``target`` if the item may move there now; a Conflict (409) naming why not otherwise."""
    check_transition(ApprovalStatus(item.status), target)
    _ensure_unexpired(item)
    # A stale item may still be rejected: only what would go out needs the current records.
    if item.stale_at is not None and target is not ApprovalStatus.REJECTED:
        raise NotDecidable(
            f"approval item {item.id} is stale ({item.stale_reason or 'its records changed'}); "
            "refresh it before deciding",
            reason="stale",
        )
    if seen_version is not None and seen_version != item.version:
        raise VersionMismatch(f"approval item {item.id}", seen_version, item.version)
    return target


def ensure_refreshable(item: ApprovalItem) -> None:
    """Only a pending, unexpired item can be rebuilt from its records."""
    if item.status != ApprovalStatus.PENDING.value:
        raise Conflict(
            f"approval item {item.id} is {item.status}; only a pending item is refreshed"
        )
    _ensure_unexpired(item)


def _ensure_unexpired(item: ApprovalItem) -> None:
    if item.expires_at is not None and item.expires_at <= utcnow():
        raise NotDecidable(
            f"approval item {item.id} expired at {item.expires_at.isoformat()}", reason="expired"
        )
