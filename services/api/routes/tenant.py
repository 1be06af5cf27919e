"""``/v1/tenant``: the caller's tenant and its settings (LLM provider and model preference)."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from services.api.auth import Principal, require
from shared.db.database import Database
from shared.db.models import Tenant
from shared.errors import NotFound
from shared.roles import Permission

router = APIRouter(prefix="/v1/tenant", tags=["tenant"])


class TenantOut(BaseModel):
    id: uuid.UUID
    name: str
    slug: str
    status: str
    monthly_budget_usd: Decimal | None
    settings: dict[str, Any]


class TenantSettingsIn(BaseModel):
    """``null`` clears a preference, so the platform default applies again."""

    model_config = ConfigDict(extra="forbid")

    llm_provider: Literal["openai", "anthropic", "gemini"] | None = None
    llm_model: str | None = Field(default=None, min_length=1, max_length=100)


def _tenant(db: Database, tenant_id: uuid.UUID) -> TenantOut:
    with db.unit_of_work(tenant_id) as uow:
        tenant = uow.session.scalars(sa.select(Tenant).where(Tenant.id == tenant_id)).first()
        if tenant is None:
            raise NotFound("tenant not found")
        return TenantOut.model_validate(tenant, from_attributes=True)


@router.get("", response_model=TenantOut)
def read_tenant(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.INTEGRATIONS_READ))],
) -> TenantOut:
    return _tenant(request.app.state.db, principal.tenant_id)


@router.patch("/settings", response_model=TenantOut)
def update_settings(
    body: TenantSettingsIn,
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.INTEGRATIONS_WRITE))],
) -> TenantOut:
    db: Database = request.app.state.db
    changes = body.model_dump(exclude_unset=True)
    with db.unit_of_work(principal.tenant_id) as uow:
        tenant = uow.session.scalars(
            sa.select(Tenant).where(Tenant.id == principal.tenant_id).with_for_update()
        ).one()
        merged = {**(tenant.settings or {}), **changes}
        tenant.settings = {key: value for key, value in merged.items() if value is not None}
        uow.commit()
    return _tenant(db, principal.tenant_id)
