"""Writing a generated draft: the draft row with its provenance, and its approval item.

A grounded draft goes to the approval queue (or, auto-approved, straight to approved with an
item the system approved); a draft that failed the grounding check twice is kept as
``draft`` with its problems and never gets an approval item.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.db.base import utcnow
from shared.db.models import ApprovalItem, ApprovalItemType, Channel, Draft, Task
from shared.db.unit_of_work import UnitOfWork
from shared.db.upsert import insert_if_absent
from shared.domain.approval_basis import approval_expires_at, current_basis, item_links
from shared.events import Event, EventType
from shared.lifecycles import ApprovalStatus, DraftStatus, check_transition
from shared.sending.queue import queue_send
from shared.settings import Settings
from workers.outreach.context import RecordRef
from workers.outreach.generation import DraftJob, Generation
from workers.outreach.grounding import context_value
from workers.outreach.prompt import input_hash

__all__ = ["DraftTarget", "StoredDraft", "cite_facts", "store_draft", "title_for"]

SYSTEM_REVIEWER = "system"
_LABELS = {"email": "Email", "linkedin": "LinkedIn message", "other": "Message"}


@dataclass(frozen=True)
class DraftTarget:
    """Who a draft is for and how it is filed."""

    contact_id: uuid.UUID | None
    opportunity_id: uuid.UUID | None
    channel: Channel
    item_type: ApprovalItemType
    title: str
    records: dict[str, RecordRef]
    details: dict[str, Any] = field(default_factory=dict)
    """Extra keys for the draft's personalization and the item's context (e.g. follow-up)."""


@dataclass(frozen=True)
class StoredDraft:
    draft_id: uuid.UUID
    status: DraftStatus
    approval_item_id: uuid.UUID | None


def store_draft(
    uow: UnitOfWork,
    task: Task,
    job: DraftJob,
    target: DraftTarget,
    generation: Generation,
    *,
    auto_approve: bool,
    settings: Settings,
) -> StoredDraft | None:
    """Write the draft (once per task step) and, if grounded, its approval item; None if this
    step already wrote its draft. An auto-approved draft has its send queued at once; a
    pending item expires after the agent's ``approvalExpiryHours`` or the platform default."""
    answer = generation.result.data
    status = DraftStatus.DRAFT
    if generation.grounded:
        target_status = DraftStatus.APPROVED if auto_approve else DraftStatus.PENDING_APPROVAL
        status = check_transition(DraftStatus.DRAFT, target_status)
    facts_used = cite_facts(answer.get("facts_used") or [], target.records, job.facts)
    subject = (answer.get("subject") or None) if target.channel is Channel.EMAIL else None
    draft_id = uuid.uuid4()
    values: dict[str, Any] = {
        "id": draft_id,
        "tenant_id": task.tenant_id,
        "task_id": task.id,
        "step": job.step,
        "agent_id": job.agent_id,
        "contact_id": target.contact_id,
        "opportunity_id": target.opportunity_id,
        "channel": target.channel.value,
        "subject": subject,
        "body": answer["body"],
        "personalization": {
            "reasoning": answer.get("reasoning", ""),
            "key_points": answer.get("key_points", []),
            "facts_used": facts_used,
            "context": job.facts,
            "grounding": {
                "passed": generation.grounded,
                "attempts": generation.attempts,
                "problems": generation.problems,
                "rejected_attempt_problems": generation.rejected,
            },
            **target.details,
        },
        "status": status.value,
        "prompt_version": job.prompt.version,
        "model": generation.result.model,
        "model_parameters": job.parameters,
        "input_hash": input_hash(
            job.prompt, generation.messages, generation.result.model, job.parameters
        ),
    }
    if not insert_if_absent(uow.session, Draft, values):
        return None
    uow.record(
        Event(
            event_type=EventType.DRAFT_CREATED,
            tenant_id=task.tenant_id,
            aggregate_type="draft",
            aggregate_id=draft_id,
            trace_id=task.trace_id,
            payload={
                "task_id": str(task.id),
                "contact_id": str(target.contact_id) if target.contact_id else None,
                "channel": target.channel.value,
                "status": status.value,
                "grounded": generation.grounded,
            },
        )
    )
    if not generation.grounded:
        return StoredDraft(draft_id, status, None)
    item = _approval_item(uow, task, job, target, answer, subject, draft_id, facts_used)
    if auto_approve:
        _approve_as_system(uow, task, item, platform_from=settings.mail_from)
    else:
        item.expires_at = approval_expires_at(
            uow, task.tenant_id, job.agent_id, settings.approval_default_ttl_hours
        )
    return StoredDraft(draft_id, status, item.id)


def cite_facts(
    facts_used: list[Any], records: Mapping[str, RecordRef], context: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Each fact with the record it came from (and, for account intelligence, its origin)."""
    cited = []
    for entry in facts_used:
        if not isinstance(entry, Mapping):
            continue
        source = str(entry.get("source") or "")
        fact: dict[str, Any] = {"fact": entry.get("fact"), "source": source}
        ref = _record_of(source, records)
        if ref is not None:
            fact["record_type"], fact["record_id"] = ref[0], str(ref[1])
        parts = source.split(".")
        if parts[:2] == ["account", "intelligence"] and len(parts) > 2:
            origin = context_value(context, f"account.intelligence.{parts[2]}.source")
            if isinstance(origin, str):
                fact["origin"] = origin
        cited.append(fact)
    return cited


def _record_of(source: str, records: Mapping[str, RecordRef]) -> RecordRef | None:
    parts = source.split(".")
    for size in range(len(parts), 0, -1):
        ref = records.get(".".join(parts[:size]))
        if ref is not None:
            return ref
    return None


def _approval_item(
    uow: UnitOfWork,
    task: Task,
    job: DraftJob,
    target: DraftTarget,
    answer: dict[str, Any],
    subject: str | None,
    draft_id: uuid.UUID,
    facts_used: list[dict[str, Any]],
) -> ApprovalItem:
    """The pending item with the records it is about and their versions (its basis)."""
    links = item_links(
        uow, task.tenant_id, contact_id=target.contact_id, opportunity_id=target.opportunity_id
    )
    item = ApprovalItem(
        id=uuid.uuid4(),
        tenant_id=task.tenant_id,
        agent_id=job.agent_id,
        agent_type=task.agent_type,
        task_id=task.id,
        draft_id=draft_id,
        item_type=target.item_type.value,
        priority=task.priority,
        title=target.title[:500],
        content={"channel": target.channel.value, "subject": subject, "body": answer["body"]},
        context={
            "reasoning": answer.get("reasoning", ""),
            "key_points": answer.get("key_points", []),
            "facts_used": facts_used,
            "contact": job.facts.get("contact"),
            "account": job.facts.get("account"),
            "opportunity": job.facts.get("opportunity"),
            **target.details,
        },
        status=ApprovalStatus.PENDING.value,
        contact_id=links.contact_id,
        account_id=links.account_id,
        opportunity_id=links.opportunity_id,
        basis=current_basis(
            uow,
            task.tenant_id,
            draft_id=draft_id,
            contact_id=links.contact_id,
            account_id=links.account_id,
        ),
    )
    uow.session.add(item)
    uow.session.flush()
    uow.record(_item_event(task, item, EventType.APPROVAL_CREATED))
    return item


def _approve_as_system(
    uow: UnitOfWork, task: Task, item: ApprovalItem, *, platform_from: str | None
) -> None:
    """Auto-approval: the item is decided at once, by no person, and the draft's send queued."""
    item.status = check_transition(ApprovalStatus(item.status), ApprovalStatus.APPROVED).value
    item.reviewed_at = utcnow()
    draft = uow.session.get_one(Draft, item.draft_id)
    send = queue_send(uow, draft, item, platform_from=platform_from, trace_id=task.trace_id)
    uow.record(
        _item_event(
            task,
            item,
            EventType.APPROVAL_APPROVED,
            reviewer=SYSTEM_REVIEWER,
            auto_approved=True,
            send_id=str(send.id),
        )
    )


def _item_event(task: Task, item: ApprovalItem, event_type: EventType, **extra: Any) -> Event:
    return Event(
        event_type=event_type,
        tenant_id=task.tenant_id,
        aggregate_type="approval_item",
        aggregate_id=item.id,
        trace_id=task.trace_id,
        payload={
            "item_type": item.item_type,
            "draft_id": str(item.draft_id),
            "task_id": str(task.id),
            "priority": item.priority,
            **extra,
        },
    )


def title_for(channel: Channel, recipient: str, prefix: str = "") -> str:
    """The approval item's title, e.g. "Email to Maya Okafor at Northwind Logistics"."""
    return f"{prefix}{_LABELS[channel.value]} to {recipient}"
