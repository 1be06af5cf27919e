"""``GET /v1/agents/{id}/activity``: what an agent did, filtered by action and time, paged."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from services.api.auth import Principal, require
from services.api.problems import ProblemError
from services.api.routes.agents import ActivityOut
from shared.agents.activity_feed import list_agent_activity
from shared.db.database import Database
from shared.roles import Permission

router = APIRouter(prefix="/v1/agents", tags=["agents"])


class ActivityPage(BaseModel):
    items: list[ActivityOut]
    total: int
    limit: int
    offset: int


def _moment(name: str, raw: str | None) -> datetime | None:
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise ProblemError(
            400, "Bad request", f"{name} must be an ISO 8601 date or date-time, got {raw!r}"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@router.get("/{agent_id}/activity", response_model=ActivityPage)
def activity(
    agent_id: uuid.UUID,
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.AGENTS_READ))],
    action: Annotated[list[str] | None, Query(max_length=100)] = None,
    since: Annotated[
        str | None, Query(description="Inclusive; ISO 8601, UTC if no offset.")
    ] = None,
    until: Annotated[
        str | None, Query(description="Exclusive; ISO 8601, UTC if no offset.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ActivityPage:
    """The agent's activity newest first; repeat ``action`` to match any of several actions."""
    start, stop = _moment("since", since), _moment("until", until)
    if start is not None and stop is not None and start > stop:
        raise ProblemError(400, "Bad request", "since must not be after until")
    db: Database = request.app.state.db
    with db.unit_of_work(principal.tenant_id) as uow:
        entries, total = list_agent_activity(
            uow,
            principal.tenant_id,
            agent_id,
            actions=action or (),
            since=start,
            until=stop,
            limit=limit,
            offset=offset,
        )
        return ActivityPage(
            items=[ActivityOut.model_validate(e, from_attributes=True) for e in entries],
            total=total,
            limit=limit,
            offset=offset,
        )
