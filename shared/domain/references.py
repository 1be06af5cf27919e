"""Checks that the records a task input names exist for the tenant (a 422 at the API)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from pydantic import BaseModel

from shared.db.base import Base
from shared.db.models import Account, Contact, Draft, Opportunity
from shared.db.unit_of_work import UnitOfWork
from shared.task_inputs import InputInvalid

__all__ = ["check_input_references"]

_REFERENCES: dict[str, type[Base]] = {
    "contact_id": Contact,
    "opportunity_id": Opportunity,
    "account_id": Account,
    "draft_id": Draft,
}


def check_input_references(uow: UnitOfWork, tenant_id: uuid.UUID, parsed: BaseModel) -> None:
    """Raise :class:`InputInvalid` naming every referenced record the tenant does not have."""
    missing: list[dict[str, str]] = []
    for field, model in _REFERENCES.items():
        record_id = getattr(parsed, field, None)
        if not isinstance(record_id, uuid.UUID):
            continue
        table = model.__table__
        exists = uow.session.scalar(
            sa.select(sa.literal(True)).where(
                table.c.tenant_id == tenant_id, table.c.id == record_id
            )
        )
        if not exists:
            missing.append(
                {"field": field, "message": f"no {model.__tablename__[:-1]} {record_id}"}
            )
    if missing:
        summary = "; ".join(f"input.{m['field']}: {m['message']}" for m in missing)
        raise InputInvalid(f"invalid input: {summary}", missing)
