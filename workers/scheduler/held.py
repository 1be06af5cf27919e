"""Due held tasks and expired approval items: claimed in one statement, settled in the same
transaction (outbox rows, events, activity)."""

from __future__ import annotations

import uuid
from datetime import datetime

from shared.db.models import ActivityLogEntry, ActorKind, ApprovalItem, Draft
from shared.db.unit_of_work import UnitOfWork
from shared.domain.tasks import envelope_for
from shared.events import Event, EventType
from shared.lifecycles import DraftStatus, check_transition
from workers.scheduler.claims import claim_due_tasks, claim_expired_approvals

__all__ = ["dispatch_due_tasks", "expire_approvals"]

ACTOR_ID = "scheduler"


def dispatch_due_tasks(uow: UnitOfWork, tenant_id: uuid.UUID, now: datetime, *, limit: int) -> int:
    """Dispatch up to ``limit`` of the tenant's due held tasks; commits; returns how many."""
    tasks = claim_due_tasks(uow.session, tenant_id, now, limit=limit)
    for task in tasks:
        uow.dispatch(envelope_for(task))
    uow.commit()
    return len(tasks)


def expire_approvals(uow: UnitOfWork, tenant_id: uuid.UUID, now: datetime, *, limit: int) -> int:
    """Expire up to ``limit`` overdue pending approval items; commits; returns how many.

    An expired item's draft can no longer be approved, so a draft still waiting for it is
    rejected rather than left pending forever.
    """
    items = claim_expired_approvals(uow.session, tenant_id, now, limit=limit)
    for item in items:
        _reject_waiting_draft(uow, item)
        uow.session.add(
            ActivityLogEntry(
                tenant_id=tenant_id,
                agent_id=item.agent_id,
                task_id=item.task_id,
                actor_kind=ActorKind.SYSTEM,
                actor_id=ACTOR_ID,
                action=EventType.APPROVAL_EXPIRED.value,
                entity_type="approval_item",
                entity_id=item.id,
                details={"expires_at": _iso(item.expires_at)},
            )
        )
        uow.record(
            Event(
                event_type=EventType.APPROVAL_EXPIRED,
                tenant_id=tenant_id,
                aggregate_type="approval_item",
                aggregate_id=item.id,
                payload={
                    "item_type": item.item_type,
                    "draft_id": str(item.draft_id) if item.draft_id else None,
                    "task_id": str(item.task_id) if item.task_id else None,
                    "expires_at": _iso(item.expires_at),
                },
            )
        )
    uow.commit()
    return len(items)


def _reject_waiting_draft(uow: UnitOfWork, item: ApprovalItem) -> None:
    if item.draft_id is None:
        return
    draft = uow.session.get(Draft, item.draft_id, with_for_update=True)
    if draft is not None and draft.status == DraftStatus.PENDING_APPROVAL.value:
        draft.status = check_transition(DraftStatus.PENDING_APPROVAL, DraftStatus.REJECTED)


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
