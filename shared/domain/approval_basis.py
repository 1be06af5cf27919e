"""What an approval item is built from: the records it links, their versions when it was
built (its ``basis``, which the stale check and the detail view compare with the rows now),
and when it stops waiting for a decision."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa

from shared.db.base import utcnow
from shared.db.models import Account, Agent, Contact, Draft, Opportunity
from shared.db.unit_of_work import UnitOfWork

__all__ = [
    "EXPIRY_CONFIG_KEY",
    "ItemLinks",
    "account_snapshot",
    "approval_expires_at",
    "contact_snapshot",
    "current_basis",
    "item_links",
    "owned_row",
]

EXPIRY_CONFIG_KEY = "approvalExpiryHours"
"""The agent config field (stored by its alias) that overrides the platform's approval TTL."""

Record = TypeVar("Record", Draft, Contact, Account, Opportunity)


@dataclass(frozen=True)
class ItemLinks:
    """The CRM records an approval item is about."""

    contact_id: uuid.UUID | None
    account_id: uuid.UUID | None
    opportunity_id: uuid.UUID | None


def item_links(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    *,
    contact_id: uuid.UUID | None,
    opportunity_id: uuid.UUID | None,
) -> ItemLinks:
    """The contact and opportunity with their account: the contact's, else the opportunity's."""
    account_id = None
    if contact_id is not None:
        account_id = uow.session.scalar(
            sa.select(Contact.account_id).where(
                Contact.tenant_id == tenant_id, Contact.id == contact_id
            )
        )
    if account_id is None and opportunity_id is not None:
        account_id = uow.session.scalar(
            sa.select(Opportunity.account_id).where(
                Opportunity.tenant_id == tenant_id, Opportunity.id == opportunity_id
            )
        )
    return ItemLinks(contact_id, account_id, opportunity_id)


def current_basis(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    *,
    draft_id: uuid.UUID | None,
    contact_id: uuid.UUID | None,
    account_id: uuid.UUID | None,
) -> dict[str, int]:
    """The versions the draft, contact and account are at now (only those named and present),
    keyed ``draft_version``, ``contact_version``, ``account_version``."""
    sources: list[tuple[str, Any, uuid.UUID | None]] = [
        ("draft_version", Draft, draft_id),
        ("contact_version", Contact, contact_id),
        ("account_version", Account, account_id),
    ]
    columns = [
        sa.select(model.version)
        .where(model.tenant_id == tenant_id, model.id == record_id)
        .scalar_subquery()
        .label(key)
        for key, model, record_id in sources
        if record_id is not None
    ]
    if not columns:
        return {}
    row = uow.session.execute(sa.select(*columns)).one()
    return {key: value for key, value in row._mapping.items() if value is not None}


def approval_expires_at(
    uow: UnitOfWork, tenant_id: uuid.UUID, agent_id: uuid.UUID | None, default_ttl_hours: int
) -> datetime:
    """When a new item of the agent expires: its ``approvalExpiryHours``, else the default."""
    hours = default_ttl_hours
    if agent_id is not None:
        config = uow.session.scalar(
            sa.select(Agent.config).where(Agent.tenant_id == tenant_id, Agent.id == agent_id)
        )
        configured = (config or {}).get(EXPIRY_CONFIG_KEY)
        if isinstance(configured, int) and configured > 0:
            hours = configured
    return utcnow() + timedelta(hours=hours)


def owned_row(
    uow: UnitOfWork, tenant_id: uuid.UUID, model: type[Record], record_id: uuid.UUID | None
) -> Record | None:
    """The tenant's row of ``model`` with ``record_id``; None when there is none (or no id)."""
    if record_id is None:
        return None
    return uow.session.scalars(
        sa.select(model).where(model.tenant_id == tenant_id, model.id == record_id)
    ).first()


def contact_snapshot(contact: Contact, account: Account | None) -> dict[str, Any]:
    """The contact as a reviewer sees it in an item's context."""
    return _compact(
        first_name=contact.first_name,
        last_name=contact.last_name,
        title=contact.title,
        seniority=contact.seniority,
        department=contact.department,
        email=contact.email,
        company=account.name if account else None,
    )


def account_snapshot(account: Account) -> dict[str, Any]:
    """The account's firmographics as a reviewer sees them in an item's context."""
    return _compact(
        name=account.name,
        domain=account.domain,
        industry=account.industry,
        employee_count=account.employee_count,
        location=account.location,
        technologies=account.technologies or None,
    )


def _compact(**values: Any) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value not in (None, "", [])}
