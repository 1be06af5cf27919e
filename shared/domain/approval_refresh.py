"""Refreshing a pending approval item: rebuilt from its draft, contact and account as they are
now, so a stale item can be decided again on what would actually go out."""

from __future__ import annotations

import uuid

from shared.db.models import (
    Account,
    ActivityLogEntry,
    ActorKind,
    ApprovalItem,
    Contact,
    Draft,
)
from shared.db.unit_of_work import UnitOfWork
from shared.domain.approval_basis import (
    account_snapshot,
    contact_snapshot,
    current_basis,
    owned_row,
)
from shared.domain.approval_guards import ensure_refreshable, lock_item
from shared.domain.approvals import Reviewer
from shared.events import Event, EventType

__all__ = ["refresh_item"]


def refresh_item(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    item_id: uuid.UUID,
    reviewer: Reviewer,
    *,
    trace_id: str | None = None,
) -> ApprovalItem:
    """Rebuild a pending item's content and context snapshot from the current rows, take its
    basis again and clear the stale mark (version + 1, ``approval.refreshed``); commits.
    Conflict (409) unless the item is pending and unexpired."""
    item = lock_item(uow, tenant_id, item_id)
    ensure_refreshable(item)
    draft = owned_row(uow, tenant_id, Draft, item.draft_id)
    contact = owned_row(uow, tenant_id, Contact, item.contact_id)
    account = owned_row(uow, tenant_id, Account, item.account_id)
    if draft is not None:
        item.content = {
            **item.content,
            "channel": draft.channel,
            "subject": draft.subject,
            "body": draft.body,
        }
    context = dict(item.context)
    if contact is not None:
        context["contact"] = contact_snapshot(contact, account)
    if account is not None:
        context["account"] = account_snapshot(account)
    item.context = context
    previous = {"basis": item.basis, "stale_reason": item.stale_reason}
    item.basis = current_basis(
        uow,
        tenant_id,
        draft_id=item.draft_id,
        contact_id=item.contact_id,
        account_id=item.account_id,
    )
    item.stale_at = None
    item.stale_reason = None
    item.version += 1
    uow.session.add(
        ActivityLogEntry(
            tenant_id=tenant_id,
            agent_id=item.agent_id,
            task_id=item.task_id,
            actor_kind=ActorKind.USER,
            actor_id=reviewer.actor_id,
            action=EventType.APPROVAL_REFRESHED.value,
            entity_type="approval_item",
            entity_id=item.id,
            details={**previous, "basis": item.basis},
        )
    )
    uow.record(
        Event(
            event_type=EventType.APPROVAL_REFRESHED,
            tenant_id=tenant_id,
            aggregate_type="approval_item",
            aggregate_id=item.id,
            trace_id=trace_id,
            payload={
                "item_type": item.item_type,
                "draft_id": str(item.draft_id) if item.draft_id else None,
                "reviewer": reviewer.actor_id,
                "version": item.version,
                "basis": item.basis,
                "previous_basis": previous["basis"],
                "stale_reason": previous["stale_reason"],
            },
        )
    )
    uow.commit()
    return item
