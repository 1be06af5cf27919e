"""Checks that the records a task input names exist for the tenant (a 422 at the API)."""

from __future__ import annotations

import uuid

import sqlalchemy as sa
from pydantic import BaseModel

from shared.db.models import Contact, Opportunity
from shared.db.unit_of_work import UnitOfWork
from shared.task_inputs import DraftOutreachInput, InputInvalid

__all__ = ["check_input_references"]


def check_input_references(uow: UnitOfWork, tenant_id: uuid.UUID, parsed: BaseModel) -> None:
    if not isinstance(parsed, DraftOutreachInput):
        return
    missing: list[dict[str, str]] = []
    for field, model, record_id in (
        ("contact_id", Contact, parsed.contact_id),
        ("opportunity_id", Opportunity, parsed.opportunity_id),
    ):
        if record_id is None:
            continue
        exists = uow.session.scalar(
            sa.select(sa.literal(True)).where(model.tenant_id == tenant_id, model.id == record_id)
        )
        if not exists:
            missing.append(
                {"field": field, "message": f"no {model.__tablename__[:-1]} {record_id}"}
            )
    if missing:
        summary = "; ".join(f"input.{m['field']}: {m['message']}" for m in missing)
        raise InputInvalid(f"invalid input for draft_outreach: {summary}", missing)
