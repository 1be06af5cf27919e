"""Reading the approval queue: filtered pages, one item with everything behind it, and the
queue's numbers."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, time

import sqlalchemy as sa

from shared.agent_types import AgentType
from shared.db.base import utcnow
from shared.db.models import (
    Account,
    ApprovalItem,
    ApprovalItemType,
    Contact,
    Draft,
    MessageSend,
    Opportunity,
)
from shared.db.unit_of_work import UnitOfWork
from shared.domain.approval_basis import current_basis, owned_row
from shared.errors import NotFound
from shared.lifecycles import ApprovalStatus, TaskPriority

__all__ = [
    "ApprovalDetail",
    "ApprovalFilters",
    "ApprovalStats",
    "approval_detail",
    "approval_stats",
    "list_items",
]

_PRIORITY_RANK = {"urgent": 0, "high": 1, "medium": 2, "low": 3}
_APPROVED = (ApprovalStatus.APPROVED.value, ApprovalStatus.EDITED.value)


@dataclass(frozen=True)
class ApprovalFilters:
    """Which items a page holds; ``status`` None means every status."""

    status: ApprovalStatus | None = ApprovalStatus.PENDING
    agent_type: AgentType | None = None
    item_type: ApprovalItemType | None = None
    priority: TaskPriority | None = None
    contact_id: uuid.UUID | None = None
    opportunity_id: uuid.UUID | None = None
    stale: bool | None = None

    def conditions(self, tenant_id: uuid.UUID) -> list[sa.ColumnElement[bool]]:
        wanted: list[sa.ColumnElement[bool]] = [ApprovalItem.tenant_id == tenant_id]
        equal = {
            ApprovalItem.status: self.status,
            ApprovalItem.agent_type: self.agent_type,
            ApprovalItem.item_type: self.item_type,
            ApprovalItem.priority: self.priority,
            ApprovalItem.contact_id: self.contact_id,
            ApprovalItem.opportunity_id: self.opportunity_id,
        }
        wanted += [column == value for column, value in equal.items() if value is not None]
        if self.stale is not None:
            stale_at = ApprovalItem.stale_at
            wanted.append(stale_at.is_not(None) if self.stale else stale_at.is_(None))
        return wanted


def list_items(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    filters: ApprovalFilters | None = None,
    *,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[ApprovalItem], int]:
    """Items ordered by priority (urgent first), then newest first, then id; with the total
    before paging."""
    conditions = (filters or ApprovalFilters()).conditions(tenant_id)
    total = uow.session.scalar(sa.select(sa.func.count(ApprovalItem.id)).where(*conditions)) or 0
    rank = sa.case(_PRIORITY_RANK, value=ApprovalItem.priority, else_=len(_PRIORITY_RANK))
    items = uow.session.scalars(
        sa.select(ApprovalItem)
        .where(*conditions)
        .order_by(rank, ApprovalItem.created_at.desc(), ApprovalItem.id)
        .limit(limit)
        .offset(offset)
    ).all()
    return list(items), total


@dataclass(frozen=True)
class ApprovalDetail:
    """One item with the rows behind it as they are now."""

    item: ApprovalItem
    draft: Draft | None
    contact: Contact | None
    account: Account | None
    opportunity: Opportunity | None
    send: MessageSend | None
    current_basis: dict[str, int] = field(default_factory=dict)
    """The versions of the draft, contact and account now, to set against ``item.basis``."""


def approval_detail(uow: UnitOfWork, tenant_id: uuid.UUID, item_id: uuid.UUID) -> ApprovalDetail:
    """The item with its draft, contact, account, opportunity and send; NotFound otherwise."""
    item = uow.session.scalars(
        sa.select(ApprovalItem).where(
            ApprovalItem.tenant_id == tenant_id, ApprovalItem.id == item_id
        )
    ).first()
    if item is None:
        raise NotFound(f"approval item {item_id} not found")
    send = (
        uow.session.scalars(
            sa.select(MessageSend).where(
                MessageSend.tenant_id == tenant_id, MessageSend.draft_id == item.draft_id
            )
        ).first()
        if item.draft_id
        else None
    )
    return ApprovalDetail(
        item=item,
        draft=owned_row(uow, tenant_id, Draft, item.draft_id),
        contact=owned_row(uow, tenant_id, Contact, item.contact_id),
        account=owned_row(uow, tenant_id, Account, item.account_id),
        opportunity=owned_row(uow, tenant_id, Opportunity, item.opportunity_id),
        send=send,
        current_basis=current_basis(
            uow,
            tenant_id,
            draft_id=item.draft_id,
            contact_id=item.contact_id,
            account_id=item.account_id,
        ),
    )


@dataclass(frozen=True)
class ApprovalStats:
    by_status: dict[str, int]
    pending_by_agent_type: dict[str, int]
    approved_today: int
    """Approved or edited since midnight UTC."""
    oldest_pending_age_s: int | None
    stale_pending: int


def approval_stats(uow: UnitOfWork, tenant_id: uuid.UUID) -> ApprovalStats:
    """The queue's numbers in three aggregate queries."""
    now = utcnow()
    midnight = datetime.combine(now.date(), time(), tzinfo=now.tzinfo)
    mine = ApprovalItem.tenant_id == tenant_id
    pending = ApprovalItem.status == ApprovalStatus.PENDING.value
    by_status = {status.value: 0 for status in ApprovalStatus}
    by_status.update(
        dict(
            uow.session.execute(
                sa.select(ApprovalItem.status, sa.func.count())
                .where(mine)
                .group_by(ApprovalItem.status)
            ).all()
        )
    )
    by_agent_type = dict(
        uow.session.execute(
            sa.select(ApprovalItem.agent_type, sa.func.count())
            .where(mine, pending)
            .group_by(ApprovalItem.agent_type)
            .order_by(ApprovalItem.agent_type)
        ).all()
    )
    approved_today, oldest, stale = uow.session.execute(
        sa.select(
            sa.func.count().filter(
                ApprovalItem.status.in_(_APPROVED), ApprovalItem.reviewed_at >= midnight
            ),
            sa.func.min(ApprovalItem.created_at).filter(pending),
            sa.func.count().filter(pending, ApprovalItem.stale_at.is_not(None)),
        ).where(mine)
    ).one()
    return ApprovalStats(
        by_status=by_status,
        pending_by_agent_type=by_agent_type,
        approved_today=approved_today,
        oldest_pending_age_s=_age_s(now, oldest),
        stale_pending=stale,
    )


def _age_s(now: datetime, since: datetime | str | None) -> int | None:
    if since is None:
        return None
    if isinstance(since, str):
        # SQLite hands an aggregate of a timestamp column back as text.
        since = datetime.fromisoformat(since)
    if since.tzinfo is None:
        since = since.replace(tzinfo=now.tzinfo)
    return max(0, int((now - since).total_seconds()))
