"""``GET /v1/agents/{id}/metrics``: an agent's performance by day, week or month."""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel

from services.api.auth import Principal, require
from services.api.problems import ProblemError
from shared.agents.metrics_report import GroupBy, agent_metrics
from shared.db.base import utcnow
from shared.db.database import Database
from shared.roles import Permission

router = APIRouter(prefix="/v1/agents", tags=["agents"])

DEFAULT_RANGE_DAYS = 30


class MetricsPointOut(BaseModel):
    period_start: date
    period_end: date
    tasks_completed: int
    tasks_failed: int
    messages_sent: int
    responses_received: int
    response_rate: float | None
    average_response_time_s: float | None
    opportunities_identified: int
    drafts_created: int
    items_processed: int


class AgentMetricsOut(BaseModel):
    agent_id: uuid.UUID
    start_date: date
    end_date: date
    group_by: GroupBy
    series: list[MetricsPointOut]
    summary: MetricsPointOut


def _bad_request(detail: str) -> ProblemError:
    return ProblemError(400, "Bad request", detail)


def _date(name: str, raw: str | None, default: date) -> date:
    if raw is None:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise _bad_request(f"{name} must be a date (YYYY-MM-DD), got {raw!r}") from None


@router.get("/{agent_id}/metrics", response_model=AgentMetricsOut)
def metrics(
    agent_id: uuid.UUID,
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.AGENTS_READ))],
    start_date: Annotated[str | None, Query(alias="startDate")] = None,
    end_date: Annotated[str | None, Query(alias="endDate")] = None,
    group_by: Annotated[str, Query(alias="groupBy")] = GroupBy.DAY.value,
) -> AgentMetricsOut:
    """Series and summary over ``[startDate, endDate]`` (default: the last 30 days, UTC)."""
    end = _date("endDate", end_date, utcnow().date())
    start = _date("startDate", start_date, end - timedelta(days=DEFAULT_RANGE_DAYS - 1))
    try:
        grouping = GroupBy(group_by)
    except ValueError:
        known = ", ".join(g.value for g in GroupBy)
        raise _bad_request(f"groupBy must be one of {known}, got {group_by!r}") from None
    db: Database = request.app.state.db
    with db.unit_of_work(principal.tenant_id) as uow:
        try:
            report = agent_metrics(
                uow, principal.tenant_id, agent_id, start=start, end=end, group_by=grouping
            )
        except ValueError as exc:
            raise _bad_request(str(exc)) from None
    return AgentMetricsOut.model_validate(report, from_attributes=True)
