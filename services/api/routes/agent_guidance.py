"""``/v1/agents/{id}/guidance``: what reviewers' recent rejections and edits teach an agent.

Read it, recompute it now, or clear it (later guidance only counts decisions made after).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from services.api.auth import Principal, require
from shared.db.database import Database
from shared.db.models import AgentGuidance
from shared.guidance import clear_guidance, guidance_of, refresh_guidance
from shared.roles import Permission
from shared.settings import Settings

router = APIRouter(prefix="/v1/agents", tags=["agents"])


class GuidanceOut(BaseModel):
    agent_id: uuid.UUID
    lines: list[str]
    based_on: dict[str, Any]
    updated_at: datetime | None
    cleared_at: datetime | None

    @classmethod
    def of(cls, agent_id: uuid.UUID, row: AgentGuidance | None) -> GuidanceOut:
        """The body for ``row``; an agent that never had guidance shows empty lines."""
        if row is None:
            return cls(agent_id=agent_id, lines=[], based_on={}, updated_at=None, cleared_at=None)
        return cls(
            agent_id=agent_id,
            lines=[str(line) for line in row.lines],
            based_on=row.based_on,
            updated_at=row.updated_at,
            cleared_at=row.cleared_at,
        )


@router.get("/{agent_id}/guidance", response_model=GuidanceOut)
def read(
    agent_id: uuid.UUID,
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.AGENTS_READ))],
) -> GuidanceOut:
    """The guidance lines the agent's next drafts are written with, and what they rest on."""
    db: Database = request.app.state.db
    with db.unit_of_work(principal.tenant_id) as uow:
        return GuidanceOut.of(agent_id, guidance_of(uow, principal.tenant_id, agent_id))


@router.post("/{agent_id}/guidance/refresh", response_model=GuidanceOut)
def refresh(
    agent_id: uuid.UUID,
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.AGENTS_WRITE))],
) -> GuidanceOut:
    """Recompute the guidance from the agent's recent decisions now."""
    db: Database = request.app.state.db
    settings: Settings = request.app.state.settings
    with db.unit_of_work(principal.tenant_id) as uow:
        row = refresh_guidance(
            uow, principal.tenant_id, agent_id, window=settings.reviewer_guidance_window
        )
        uow.commit()
        return GuidanceOut.of(agent_id, row)


@router.delete("/{agent_id}/guidance", response_model=GuidanceOut)
def clear(
    agent_id: uuid.UUID,
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.AGENTS_WRITE))],
) -> GuidanceOut:
    """Drop the guidance; decisions made before now no longer count towards it."""
    db: Database = request.app.state.db
    with db.unit_of_work(principal.tenant_id) as uow:
        row = clear_guidance(uow, principal.tenant_id, agent_id)
        uow.commit()
        return GuidanceOut.of(agent_id, row)
