"""Due held tasks, due deferred sends and expired approval items: claimed in one statement,
settled in the same transaction (outbox rows, events, activity)."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa

from shared.db.models import ActivityLogEntry, ActorKind, ApprovalItem, Draft, OutboxMessage
from shared.db.unit_of_work import UnitOfWork
from shared.domain.approvals import pending_seconds
from shared.domain.tasks import envelope_for
from shared.events import Event, EventType
from shared.lifecycles import DraftStatus, TaskPriority, check_transition
from shared.sending.queue import SendRequest, send_outbox_values
from shared.sending.records import send_event
from workers.scheduler.claims import claim_due_sends, claim_due_tasks, claim_expired_approvals

__all__ = ["dispatch_due_sends", "dispatch_due_tasks", "expire_approvals"]

ACTOR_ID = "scheduler"


def dispatch_due_tasks(uow: UnitOfWork, tenant_id: uuid.UUID, now: datetime, *, limit: int) -> int:
    """Dispatch up to ``limit`` of the tenant's due held tasks; commits; returns how many."""
    tasks = claim_due_tasks(uow.session, tenant_id, now, limit=limit)
    for task in tasks:
        # The task's first dispatch already used the default key; each claim gets its own.
        uow.dispatch(envelope_for(task), dedup_key=f"task:{task.id}:due:{now.isoformat()}")
    uow.commit()
    return len(tasks)


def dispatch_due_sends(uow: UnitOfWork, tenant_id: uuid.UUID, now: datetime, *, limit: int) -> int:
    """Queue up to ``limit`` of the tenant's due deferred sends again, each with a dispatch to
    the sender of its own (keyed on the send's version); commits; returns how many."""
    sends = claim_due_sends(uow.session, tenant_id, now, limit=limit)
    item_ids = [send.approval_item_id for send in sends if send.approval_item_id]
    rows = uow.session.execute(
        sa.select(ApprovalItem.id, ApprovalItem.priority).where(
            ApprovalItem.tenant_id == tenant_id, ApprovalItem.id.in_(item_ids)
        )
    )
    priorities = {row.id: row.priority for row in rows}
    for send in sends:
        item_priority = priorities.get(send.approval_item_id) if send.approval_item_id else None
        priority = TaskPriority(item_priority or TaskPriority.MEDIUM)
        values = send_outbox_values(
            SendRequest(send.tenant_id, send.id, send.dedup_key),
            priority=priority.broker_priority,
            dedup_key=f"{send.dedup_key}:due:{send.version}",
        )
        uow.session.execute(sa.insert(OutboxMessage).values(**values))
        uow.record(send_event(send, EventType.MESSAGE_QUEUED, reason="due again"))
    uow.commit()
    return len(sends)


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
                    "pending_s": pending_seconds(item.created_at, now),
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
