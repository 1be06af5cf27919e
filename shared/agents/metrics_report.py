"""An agent's performance over a date range, by day, ISO week or month, from its daily metrics."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

import sqlalchemy as sa

from shared.agents.service import get_agent
from shared.db.models import DailyMetric
from shared.db.unit_of_work import UnitOfWork

__all__ = ["MAX_RANGE_DAYS", "AgentMetricsReport", "GroupBy", "MetricsPoint", "agent_metrics"]

MAX_RANGE_DAYS = 731

_SUMMED = (
    "tasks_completed",
    "tasks_failed",
    "messages_sent",
    "responses",
    "response_time_s_total",
    "opportunities_identified",
    "drafts_created",
    "items_processed",
)


class GroupBy(StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


@dataclass(frozen=True)
class MetricsPoint:
    period_start: date
    period_end: date
    tasks_completed: int
    tasks_failed: int
    messages_sent: int
    responses_received: int
    response_rate: float | None
    """Responses per message sent; None before any message was sent."""
    average_response_time_s: float | None
    opportunities_identified: int
    drafts_created: int
    items_processed: int


@dataclass(frozen=True)
class AgentMetricsReport:
    agent_id: uuid.UUID
    start_date: date
    end_date: date
    group_by: GroupBy
    series: list[MetricsPoint]
    summary: MetricsPoint


def _period_start(day: date, group_by: GroupBy) -> date:
    if group_by is GroupBy.WEEK:
        return day - timedelta(days=day.weekday())
    if group_by is GroupBy.MONTH:
        return day.replace(day=1)
    return day


def _period_end(start: date, group_by: GroupBy) -> date:
    if group_by is GroupBy.WEEK:
        return start + timedelta(days=6)
    if group_by is GroupBy.MONTH:
        following = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
        return following - timedelta(days=1)
    return start


def _point(start: date, end: date, totals: dict[str, int]) -> MetricsPoint:
    sent, responses = totals["messages_sent"], totals["responses"]
    return MetricsPoint(
        period_start=start,
        period_end=end,
        tasks_completed=totals["tasks_completed"],
        tasks_failed=totals["tasks_failed"],
        messages_sent=sent,
        responses_received=responses,
        response_rate=round(responses / sent, 4) if sent else None,
        average_response_time_s=(
            round(totals["response_time_s_total"] / responses, 1) if responses else None
        ),
        opportunities_identified=totals["opportunities_identified"],
        drafts_created=totals["drafts_created"],
        items_processed=totals["items_processed"],
    )


def _daily_totals(
    uow: UnitOfWork, tenant_id: uuid.UUID, agent_id: uuid.UUID, start: date, end: date
) -> dict[date, dict[str, int]]:
    columns = [sa.func.coalesce(sa.func.sum(getattr(DailyMetric, n)), 0) for n in _SUMMED]
    rows = uow.session.execute(
        sa.select(DailyMetric.day, *columns)
        .where(
            DailyMetric.tenant_id == tenant_id,
            DailyMetric.agent_id == agent_id,
            DailyMetric.day >= start,
            DailyMetric.day <= end,
        )
        .group_by(DailyMetric.day)
    ).all()
    return {row[0]: dict(zip(_SUMMED, map(int, row[1:]), strict=True)) for row in rows}


def agent_metrics(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    agent_id: uuid.UUID,
    *,
    start: date,
    end: date,
    group_by: GroupBy,
) -> AgentMetricsReport:
    """Every period of ``[start, end]`` (inclusive, periods clipped to it) and a summary.

    Raises ``ValueError`` for a range that runs backwards or spans more than
    ``MAX_RANGE_DAYS``, ``NotFound`` for another tenant's agent.
    """
    if start > end:
        raise ValueError("startDate must not be after endDate")
    if (end - start).days + 1 > MAX_RANGE_DAYS:
        raise ValueError(f"the range may span at most {MAX_RANGE_DAYS} days")
    get_agent(uow, tenant_id, agent_id)
    daily = _daily_totals(uow, tenant_id, agent_id, start, end)
    periods: dict[date, dict[str, int]] = {}
    day = start
    while day <= end:
        bucket = periods.setdefault(_period_start(day, group_by), dict.fromkeys(_SUMMED, 0))
        for name, value in daily.get(day, {}).items():
            bucket[name] += value
        day += timedelta(days=1)
    series = [
        _point(max(key, start), min(_period_end(key, group_by), end), totals)
        for key, totals in periods.items()
    ]
    overall = {name: sum(totals[name] for totals in periods.values()) for name in _SUMMED}
    return AgentMetricsReport(
        agent_id=agent_id,
        start_date=start,
        end_date=end,
        group_by=group_by,
        series=series,
        summary=_point(start, end, overall),
    )
