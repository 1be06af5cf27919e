"""Handing imported accounts on to enrichment: straight after a lead_source run, or when a
person approves the run's ``lead_import`` item.

Both paths derive the hand-off ids from the lead_source task and the account, so an account
is handed on once whichever path (or repeat) gets there first.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import sqlalchemy as sa

from shared.agent_types import AgentType
from shared.db.models import Account, ApprovalItem, ApprovalItemType, Task
from shared.db.unit_of_work import UnitOfWork
from shared.domain.handoffs import hand_account_on
from shared.domain.tasks import get_task
from shared.task_inputs import PipelineSpec

__all__ = [
    "ACCOUNT_IDS_CONTEXT_KEY",
    "PIPELINE_CONTEXT_KEY",
    "hand_on_accounts",
    "release_lead_import",
]

PIPELINE_CONTEXT_KEY = "pipeline"
"""Where a ``lead_import`` item's context keeps the pipeline spec to continue on approval."""

ACCOUNT_IDS_CONTEXT_KEY = "account_ids"


def hand_on_accounts(
    uow: UnitOfWork, parent: Task, account_ids: Sequence[uuid.UUID], pipeline: PipelineSpec
) -> list[uuid.UUID]:
    """An ``enrich_account`` task per account (each with the pipeline spec); their ids."""
    return [
        hand_account_on(uow, parent, account_id, AgentType.ENRICHMENT, pipeline)
        for account_id in account_ids
    ]


def release_lead_import(uow: UnitOfWork, item: ApprovalItem) -> list[uuid.UUID]:
    """On approval of a ``lead_import`` item that carries a pipeline spec: hand its accounts
    (those that still exist) on to enrichment."""
    raw_spec = (item.context or {}).get(PIPELINE_CONTEXT_KEY)
    if item.item_type != ApprovalItemType.LEAD_IMPORT.value or not raw_spec:
        return []
    if item.task_id is None:
        return []
    pipeline = PipelineSpec.model_validate(raw_spec)
    listed = [uuid.UUID(str(i)) for i in item.context.get(ACCOUNT_IDS_CONTEXT_KEY, [])]
    existing = set(
        uow.session.scalars(
            sa.select(Account.id).where(Account.tenant_id == item.tenant_id, Account.id.in_(listed))
        )
    )
    parent = get_task(uow, item.tenant_id, item.task_id)
    return hand_on_accounts(uow, parent, [i for i in listed if i in existing], pipeline)
