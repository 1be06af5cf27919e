"""Pending drafts and approval items written straight to the database, and reads of what the
approval queue left behind (events, sends, dispatches) for approval-queue tests."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from services.demo.seed import SeededTarget
from shared.db.base import utcnow
from shared.db.database import Database
from shared.db.models import ApprovalItem, Draft, MessageSend, OutboxMessage, Task
from shared.db.unit_of_work import UnitOfWork
from shared.domain.approval_basis import current_basis, item_links
from shared.lifecycles import TaskStatus


@dataclass(frozen=True)
class ItemSpec:
    """How a pending item differs from the default email draft to ``target``."""

    target: SeededTarget
    priority: str = "medium"
    agent_type: str = "outreach"
    channel: str = "email"
    agent_id: uuid.UUID | None = None
    expires_at: datetime | None = None
    created_at: datetime | None = None


def make_pending_item(
    db: Database, tenant_id: uuid.UUID, target: SeededTarget, **spec: Any
) -> uuid.UUID:
    """One pending item (with its task and draft) for ``target``; ``spec`` as in ItemSpec."""
    [item_id] = make_pending_items(db, tenant_id, [ItemSpec(target, **spec)])
    return item_id


def make_pending_items(
    db: Database, tenant_id: uuid.UUID, specs: Sequence[ItemSpec]
) -> list[uuid.UUID]:
    """Pending items as the outreach agent files them, all in one transaction; their ids."""
    with db.unit_of_work(tenant_id) as uow:
        item_ids = [_add_item(uow, tenant_id, spec) for spec in specs]
        uow.commit()
    return item_ids


def _add_item(uow: UnitOfWork, tenant_id: uuid.UUID, spec: ItemSpec) -> uuid.UUID:
    target = spec.target
    task_id, draft_id, item_id = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    subject = "Hello" if spec.channel == "email" else None
    body = f"Hi {target.contact_name}"
    uow.session.add(
        Task(
            id=task_id,
            tenant_id=tenant_id,
            agent_type=spec.agent_type,
            task_type="draft_followup" if spec.agent_type == "followup" else "draft_outreach",
            status=TaskStatus.COMPLETED,
            input={"contact_id": str(target.contact_id)},
        )
    )
    uow.session.flush()
    uow.session.add(
        Draft(
            id=draft_id,
            tenant_id=tenant_id,
            task_id=task_id,
            step="draft",
            contact_id=target.contact_id,
            opportunity_id=target.opportunity_id,
            channel=spec.channel,
            subject=subject,
            body=body,
            personalization={
                "reasoning": f"{target.contact_name} leads work the event is about",
                "key_points": ["the upcoming event"],
                "facts_used": [
                    {
                        "fact": target.contact_name.split()[0],
                        "source": "contact.first_name",
                        "record_type": "contact",
                        "record_id": str(target.contact_id),
                    }
                ],
            },
            status="pending_approval",
        )
    )
    uow.session.flush()
    links = item_links(
        uow, tenant_id, contact_id=target.contact_id, opportunity_id=target.opportunity_id
    )
    uow.session.add(
        ApprovalItem(
            id=item_id,
            tenant_id=tenant_id,
            agent_id=spec.agent_id,
            agent_type=spec.agent_type,
            task_id=task_id,
            draft_id=draft_id,
            item_type=_item_type(spec),
            priority=spec.priority,
            title=f"Message to {target.contact_name}",
            content={"channel": spec.channel, "subject": subject, "body": body},
            contact_id=links.contact_id,
            account_id=links.account_id,
            opportunity_id=links.opportunity_id,
            basis=current_basis(
                uow,
                tenant_id,
                draft_id=draft_id,
                contact_id=links.contact_id,
                account_id=links.account_id,
            ),
            expires_at=spec.expires_at or utcnow() + timedelta(hours=72),
            **({"created_at": spec.created_at} if spec.created_at else {}),
        )
    )
    uow.session.flush()
    return item_id


def _item_type(spec: ItemSpec) -> str:
    if spec.agent_type == "followup":
        return "followup_draft"
    return "email_draft" if spec.channel == "email" else "linkedin_draft"


def load_item(db: Database, tenant_id: uuid.UUID, item_id: uuid.UUID) -> ApprovalItem:
    with db.unit_of_work(tenant_id) as uow:
        return uow.session.get_one(ApprovalItem, item_id)


def load_draft(db: Database, tenant_id: uuid.UUID, draft_id: uuid.UUID | None) -> Draft:
    with db.unit_of_work(tenant_id) as uow:
        return uow.session.get_one(Draft, draft_id)


def run_sql(db: Database, tenant_id: uuid.UUID, statement: str, **params: Any) -> None:
    """Plain SQL as the application role, in the tenant's scope, committed."""
    with db.unit_of_work(tenant_id) as uow:
        uow.session.execute(sa.text(statement), params)
        uow.commit()


def item_events(owner_db: Database, item_id: uuid.UUID) -> list[dict[str, Any]]:
    """The events written about the item, oldest first (their outbox payloads)."""
    with owner_db.unit_of_work() as uow:
        rows = uow.session.scalars(
            sa.select(OutboxMessage.payload)
            .where(
                OutboxMessage.kind == "event",
                OutboxMessage.payload["aggregate_id"].as_string() == str(item_id),
            )
            .order_by(OutboxMessage.created_at, OutboxMessage.payload["occurred_at"].as_string())
        ).all()
    return list(rows)


def sends_of(db: Database, tenant_id: uuid.UUID, draft_id: uuid.UUID | None) -> list[MessageSend]:
    with db.unit_of_work(tenant_id) as uow:
        return list(
            uow.session.scalars(sa.select(MessageSend).where(MessageSend.draft_id == draft_id))
        )


def send_dispatches(owner_db: Database, draft_id: uuid.UUID | None) -> list[str]:
    """Destinations of the outbox rows keyed ``send:{draft_id}``."""
    with owner_db.unit_of_work() as uow:
        return list(
            uow.session.scalars(
                sa.select(OutboxMessage.destination).where(
                    OutboxMessage.dedup_key == f"send:{draft_id}"
                )
            )
        )
