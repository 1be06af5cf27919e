"""Decisions on approval items: approve (optionally edited) or reject, each in one transaction
with the reviewer, the activity entry, the daily counters, the event and, for an approved
draft, its queued send.

Listing and reading items live in :mod:`shared.domain.approval_queries`, refreshing a stale
item in :mod:`shared.domain.approval_refresh`, deciding many at once in
:mod:`shared.domain.approval_bulk`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.agents.daily_metrics import bump_daily_metrics
from shared.db.base import utcnow
from shared.db.models import ActivityLogEntry, ActorKind, ApprovalItem, Draft, MessageSend
from shared.db.unit_of_work import UnitOfWork
from shared.domain.approval_edits import ContentEdit, edited_content
from shared.domain.approval_guards import ensure_decidable, lock_item
from shared.domain.lead_imports import release_lead_import
from shared.events import Event, EventType
from shared.guidance import refresh_guidance
from shared.lifecycles import ApprovalStatus, DraftStatus, check_transition
from shared.sending.queue import queue_send

__all__ = ["Decision", "Reviewer", "approve_item", "pending_seconds", "reject_item"]


GUIDANCE_WINDOW = 20
"""Recent rejections and edits an agent's reviewer guidance is rebuilt from after a decision."""


@dataclass(frozen=True)
class Reviewer:
    """Who decided: the person behind the API key when known, else the key."""

    key_id: uuid.UUID | None
    user_id: uuid.UUID | None

    @property
    def actor_id(self) -> str | None:
        who = self.user_id or self.key_id
        return str(who) if who else None


@dataclass(frozen=True)
class Decision:
    item: ApprovalItem
    send: MessageSend | None = None
    """The draft's send, queued by an approval."""


def approve_item(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    item_id: uuid.UUID,
    reviewer: Reviewer,
    *,
    edit: ContentEdit | None = None,
    seen_version: int | None = None,
    platform_from: str | None = None,
    trace_id: str | None = None,
    guidance_window: int = GUIDANCE_WINDOW,
) -> Decision:
    """Approve a pending item, as ``edited`` when ``edit`` changes its draft; commits.

    The draft is approved and its send queued (``send:{draft_id}``, from ``platform_from``
    when the tenant has no mailbox); a ``lead_import`` item hands its accounts on. Conflict
    (409) unless the item is pending, unexpired, not stale and at ``seen_version`` when given;
    :class:`~shared.domain.approval_edits.EditInvalid` for an edit the draft cannot take.
    """
    item = lock_item(uow, tenant_id, item_id)
    ensure_decidable(item, ApprovalStatus.APPROVED, seen_version=seen_version)
    draft = _locked_draft(uow, item)
    edited = edited_content(draft, edit) if edit is not None else None
    target = ApprovalStatus.EDITED if edited else ApprovalStatus.APPROVED
    _mark_decided(item, target, reviewer)
    details: dict[str, Any] = {}
    if edited is not None and draft is not None:
        item.edited_content = edited
        # The item must leave 'pending' in the database before the draft's text changes: the
        # drafts trigger marks pending items built from the draft stale.
        uow.session.flush()
        draft.subject, draft.body = edited["subject"], edited["body"]
        draft.version += 1
        details["changed"] = edited["changed"]
    send = None
    if draft is not None:
        draft.status = check_transition(DraftStatus(draft.status), DraftStatus.APPROVED)
        send = queue_send(uow, draft, item, platform_from=platform_from, trace_id=trace_id)
        details["send_id"] = str(send.id)
    release_lead_import(uow, item)
    event_type = EventType.APPROVAL_EDITED if edited else EventType.APPROVAL_APPROVED
    _record_decision(uow, item, reviewer, event_type, trace_id, **details)
    if edited is not None:
        refresh_guidance(uow, tenant_id, item.agent_id, window=guidance_window)
    uow.commit()
    return Decision(item, send)


def reject_item(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    item_id: uuid.UUID,
    reviewer: Reviewer,
    reason: str,
    *,
    seen_version: int | None = None,
    trace_id: str | None = None,
    guidance_window: int = GUIDANCE_WINDOW,
) -> Decision:
    """Reject a pending item with the reviewer's reason, and its draft with it; commits.
    Conflict (409) on the same terms as :func:`approve_item`."""
    item = lock_item(uow, tenant_id, item_id)
    _mark_decided(
        item,
        ensure_decidable(item, ApprovalStatus.REJECTED, seen_version=seen_version),
        reviewer,
    )
    item.rejection_reason = reason
    draft = _locked_draft(uow, item)
    if draft is not None:
        draft.status = check_transition(DraftStatus(draft.status), DraftStatus.REJECTED)
    _record_decision(uow, item, reviewer, EventType.APPROVAL_REJECTED, trace_id, reason=reason)
    refresh_guidance(uow, tenant_id, item.agent_id, window=guidance_window)
    uow.commit()
    return Decision(item)


def _locked_draft(uow: UnitOfWork, item: ApprovalItem) -> Draft | None:
    if item.draft_id is None:
        return None
    return uow.session.get(Draft, item.draft_id, with_for_update=True, populate_existing=True)


def _mark_decided(item: ApprovalItem, target: ApprovalStatus, reviewer: Reviewer) -> None:
    item.status = target.value
    item.reviewer_key_id = reviewer.key_id
    item.reviewer_user_id = reviewer.user_id
    item.reviewed_at = utcnow()
    item.version += 1


def _record_decision(
    uow: UnitOfWork,
    item: ApprovalItem,
    reviewer: Reviewer,
    event_type: EventType,
    trace_id: str | None,
    **details: Any,
) -> None:
    """The activity entry, the agent's daily counter and the event of a decision."""
    uow.session.add(
        ActivityLogEntry(
            tenant_id=item.tenant_id,
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
    rejected = event_type is EventType.APPROVAL_REJECTED
    bump_daily_metrics(
        uow,
        tenant_id=item.tenant_id,
        agent_id=item.agent_id,
        agent_type=item.agent_type,
        approvals_approved=0 if rejected else 1,
        approvals_rejected=1 if rejected else 0,
    )
    uow.record(
        Event(
            event_type=event_type,
            tenant_id=item.tenant_id,
            aggregate_type="approval_item",
            aggregate_id=item.id,
            trace_id=trace_id,
            payload={
                "item_type": item.item_type,
                "draft_id": str(item.draft_id) if item.draft_id else None,
                "task_id": str(item.task_id) if item.task_id else None,
                "status": item.status,
                "reviewer": reviewer.actor_id,
                "reviewed_at": item.reviewed_at.isoformat() if item.reviewed_at else None,
                "pending_s": pending_seconds(item.created_at, item.reviewed_at),
                **details,
            },
        )
    )


def pending_seconds(created_at: datetime | None, decided_at: datetime | None) -> float | None:
    """How long an item waited for its decision, in seconds (naive times read as UTC)."""
    if decided_at is None or created_at is None:
        return None
    if created_at.tzinfo is None and decided_at.tzinfo is not None:
        created_at = created_at.replace(tzinfo=decided_at.tzinfo)
    return round(max(0.0, (decided_at - created_at).total_seconds()), 3)
