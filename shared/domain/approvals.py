"""Approval items: listing and guarded decisions, each writing its event in the same transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from shared.agents.daily_metrics import bump_daily_metrics
from shared.db.base import utcnow
from shared.db.models import ActivityLogEntry, ActorKind, ApprovalItem, Draft
from shared.db.unit_of_work import UnitOfWork
from shared.domain.lead_imports import release_lead_import
from shared.errors import IllegalTransition, NotFound
from shared.events import Event, EventType
from shared.lifecycles import ApprovalStatus, DraftStatus, check_transition

__all__ = ["Reviewer", "approve_item", "list_items", "reject_item"]


@dataclass(frozen=True)
class Reviewer:
    key_id: uuid.UUID | None
    user_id: uuid.UUID | None

    @property
    def actor_id(self) -> str | None:
        who = self.user_id or self.key_id
        return str(who) if who else None


def list_items(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    *,
    status: ApprovalStatus | None = ApprovalStatus.PENDING,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[ApprovalItem], int]:
    """Items ordered by priority (urgent first) then recency, with the total before paging."""
    query = sa.select(ApprovalItem).where(ApprovalItem.tenant_id == tenant_id)
    if status is not None:
        query = query.where(ApprovalItem.status == status.value)
    total = uow.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    priority_rank = sa.case(
        {"urgent": 0, "high": 1, "medium": 2, "low": 3}, value=ApprovalItem.priority, else_=4
    )
    items = uow.session.scalars(
        query.order_by(priority_rank, ApprovalItem.created_at.desc(), ApprovalItem.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return list(items), total


def _locked_item(uow: UnitOfWork, tenant_id: uuid.UUID, item_id: uuid.UUID) -> ApprovalItem:
    item = uow.session.scalars(
        sa.select(ApprovalItem)
        .where(ApprovalItem.tenant_id == tenant_id, ApprovalItem.id == item_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    if item is None:
        raise NotFound(f"approval item {item_id} not found")
    return item


def _decide(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    item_id: uuid.UUID,
    target: ApprovalStatus,
    reviewer: Reviewer,
    event_type: EventType,
    draft_status: DraftStatus,
    **details: Any,
) -> ApprovalItem:
    item = _locked_item(uow, tenant_id, item_id)
    current = ApprovalStatus(item.status)
    if current is ApprovalStatus.PENDING and item.expires_at and item.expires_at <= utcnow():
        raise IllegalTransition("ApprovalItem", "expired", target.value)
    item.status = check_transition(current, target)
    item.reviewer_key_id = reviewer.key_id
    item.reviewer_user_id = reviewer.user_id
    item.reviewed_at = utcnow()
    item.version += 1
    if item.draft_id is not None:
        draft = uow.session.get(Draft, item.draft_id, with_for_update=True)
        if draft is not None:
            draft.status = check_transition(DraftStatus(draft.status), draft_status)
    uow.session.add(
        ActivityLogEntry(
            tenant_id=tenant_id,
            agent_id=item.agent_id,
            task_id=item.task_id,
            actor_kind=ActorKind.USER,
            actor_id=reviewer.actor_id,
            action=event_type.value,
            entity_type="approval_item",
            entity_id=item.id,
            details=details,
        )
    )
    rejected = target is ApprovalStatus.REJECTED
    bump_daily_metrics(
        uow,
        tenant_id=tenant_id,
        agent_id=item.agent_id,
        agent_type=item.agent_type,
        approvals_approved=0 if rejected else 1,
        approvals_rejected=1 if rejected else 0,
    )
    uow.record(
        Event(
            event_type=event_type,
            tenant_id=tenant_id,
            aggregate_type="approval_item",
            aggregate_id=item.id,
            payload={
                "item_type": item.item_type,
                "draft_id": str(item.draft_id) if item.draft_id else None,
                "task_id": str(item.task_id) if item.task_id else None,
                "reviewer": reviewer.actor_id,
                **details,
            },
        )
    )
    return item


def approve_item(
    uow: UnitOfWork, tenant_id: uuid.UUID, item_id: uuid.UUID, reviewer: Reviewer
) -> ApprovalItem:
    """Move a pending item to approved (409 from any other state); commits.

    Approving a ``lead_import`` item hands its accounts on when its run asked for the pipeline.
    """
    item = _decide(
        uow,
        tenant_id,
        item_id,
        ApprovalStatus.APPROVED,
        reviewer,
        EventType.APPROVAL_APPROVED,
        DraftStatus.APPROVED,
    )
    release_lead_import(uow, item)
    uow.commit()
    return item


def reject_item(
    uow: UnitOfWork, tenant_id: uuid.UUID, item_id: uuid.UUID, reviewer: Reviewer, reason: str
) -> ApprovalItem:
    """Move a pending item to rejected with the reviewer's reason; commits."""
    item = _decide(
        uow,
        tenant_id,
        item_id,
        ApprovalStatus.REJECTED,
        reviewer,
        EventType.APPROVAL_REJECTED,
        DraftStatus.REJECTED,
        reason=reason,
    )
    item.rejection_reason = reason
    uow.commit()
    return item
