"""The ``lead_import`` approval item: a person reviews a run's accounts before the pipeline."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from shared.apollo import OrganizationSearch
from shared.db.models import ApprovalItem, ApprovalItemType, Task
from shared.db.unit_of_work import UnitOfWork
from shared.domain.approval_basis import approval_expires_at
from shared.domain.lead_imports import ACCOUNT_IDS_CONTEXT_KEY, PIPELINE_CONTEXT_KEY
from shared.events import Event, EventType
from shared.task_inputs import PipelineSpec
from workers.lead_source.accounts import ImportedAccount

__all__ = ["write_lead_import_item"]


def write_lead_import_item(
    uow: UnitOfWork,
    task: Task,
    *,
    agent_id: uuid.UUID | None,
    accounts: Sequence[ImportedAccount],
    query: OrganizationSearch,
    counts: dict[str, int],
    pipeline: PipelineSpec | None,
    ttl_hours: int,
) -> ApprovalItem:
    """One item per run (its id derives from the task), with its ``approval.created`` event.

    It expires after the agent's ``approvalExpiryHours``, else after ``ttl_hours``. It names no
    contact or opportunity, and no single account: its accounts are listed in its context.
    """
    created = sum(1 for account in accounts if account.created)
    title = f"Import {len(accounts)} accounts matching the ideal customer profile"
    if accounts and created < len(accounts):
        title += f" ({created} new)"
    context: dict[str, Any] = {
        "icp": query.model_dump(mode="json", exclude_none=True, exclude={"page", "per_page"}),
        "counts": counts,
        ACCOUNT_IDS_CONTEXT_KEY: [str(account.account_id) for account in accounts],
        PIPELINE_CONTEXT_KEY: pipeline.model_dump(mode="json") if pipeline else None,
    }
    item = ApprovalItem(
        id=uuid.uuid5(task.id, "lead_import"),
        tenant_id=task.tenant_id,
        agent_id=agent_id,
        agent_type=task.agent_type,
        task_id=task.id,
        item_type=ApprovalItemType.LEAD_IMPORT.value,
        priority=task.priority,
        title=title[:500],
        content={"accounts": [account.listing() for account in accounts]},
        context=context,
        expires_at=approval_expires_at(uow, task.tenant_id, agent_id, ttl_hours),
        basis={},
    )
    uow.session.add(item)
    uow.session.flush()
    uow.record(
        Event(
            event_type=EventType.APPROVAL_CREATED,
            tenant_id=task.tenant_id,
            aggregate_type="approval_item",
            aggregate_id=item.id,
            trace_id=task.trace_id,
            payload={
                "item_type": item.item_type,
                "draft_id": None,
                "task_id": str(task.id),
                "priority": item.priority,
                "accounts": len(accounts),
            },
        )
    )
    return item
