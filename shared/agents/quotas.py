"""Per-agent quotas: daily and hourly task limits and outreach's ``maxDailyOutreach``.

A task takes one slot of each quota of its agent before it runs. Taking a slot is one
conditional upsert (``used = used + 1 WHERE used < limit``), so any number of worker processes
can race for the last slot and exactly one wins. A task that finds a quota full is not failed:
it waits for the window that has room. Windows are UTC hours and days.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from shared.agent_types import AgentType
from shared.agents.config import BaseAgentConfig, OutreachConfig
from shared.db.models import AgentQuotaClaim, AgentQuotaWindow
from shared.db.upsert import insert_if_absent

__all__ = [
    "Quota",
    "QuotaFull",
    "QuotaWindow",
    "quotas_for",
    "release_quota",
    "take_quota",
    "window_bounds",
]


class QuotaWindow(StrEnum):
    HOUR = "hour"
    DAY = "day"


@dataclass(frozen=True)
class Quota:
    name: str
    limit: int
    window: QuotaWindow


@dataclass(frozen=True)
class QuotaFull:
    """The quota that had no room, and when its next window opens."""

    quota: Quota
    reopens_at: datetime


def quotas_for(agent_type: AgentType, config: BaseAgentConfig) -> list[Quota]:
    """Every quota a task of this agent must fit in (none when the config sets no limit)."""
    quotas: list[Quota] = []
    if config.limits.hourly is not None:
        quotas.append(Quota("hourly", config.limits.hourly, QuotaWindow.HOUR))
    if config.limits.daily is not None:
        quotas.append(Quota("daily", config.limits.daily, QuotaWindow.DAY))
    if agent_type is AgentType.OUTREACH and isinstance(config, OutreachConfig):
        quotas.append(Quota("max_daily_outreach", config.max_daily_outreach, QuotaWindow.DAY))
    return quotas


def window_bounds(window: QuotaWindow, now: datetime) -> tuple[datetime, datetime]:
    """The start of the window holding ``now`` and the start of the next one."""
    if window is QuotaWindow.HOUR:
        start = now.replace(minute=0, second=0, microsecond=0)
        return start, start + timedelta(hours=1)
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


def take_quota(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    agent_id: uuid.UUID,
    task_id: uuid.UUID,
    quotas: list[Quota],
    now: datetime,
) -> QuotaFull | None:
    """Take a slot of every quota for ``task_id`` in the windows holding ``now``.

    Idempotent per task: a slot the task already holds in the current window is kept, not
    taken again. Returns None when every slot is held; otherwise the first full quota, and the
    caller must roll back (nothing taken here may be kept).
    """
    for quota in quotas:
        start, reopens_at = window_bounds(quota.window, now)
        if _holds(session, task_id, quota, start):
            continue
        if not _count_slot(session, tenant_id, agent_id, quota, start):
            return QuotaFull(quota, reopens_at)
        insert_if_absent(
            session,
            AgentQuotaClaim,
            {
                "id": uuid.uuid4(),
                "tenant_id": tenant_id,
                "task_id": task_id,
                "agent_id": agent_id,
                "quota": quota.name,
                "window_start": start,
            },
        )
    return None


def release_quota(session: Session, task_id: uuid.UUID) -> int:
    """Give back the slots ``task_id`` holds (it failed or waits for another window)."""
    claims = session.scalars(
        sa.select(AgentQuotaClaim).where(AgentQuotaClaim.task_id == task_id).with_for_update()
    ).all()
    for claim in claims:
        session.execute(
            sa.update(AgentQuotaWindow)
            .where(
                AgentQuotaWindow.agent_id == claim.agent_id,
                AgentQuotaWindow.quota == claim.quota,
                AgentQuotaWindow.window_start == claim.window_start,
                AgentQuotaWindow.used > 0,
            )
            .values(used=AgentQuotaWindow.used - 1)
        )
        session.delete(claim)
    session.flush()
    return len(claims)


def _holds(session: Session, task_id: uuid.UUID, quota: Quota, start: datetime) -> bool:
    """True if the task holds this quota's slot in the window starting at ``start``; a claim
    left from an earlier window (a crash before release) is dropped."""
    claim = session.scalars(
        sa.select(AgentQuotaClaim).where(
            AgentQuotaClaim.task_id == task_id, AgentQuotaClaim.quota == quota.name
        )
    ).first()
    if claim is None:
        return False
    if claim.window_start == start:
        return True
    session.delete(claim)
    session.flush()
    return False


def _count_slot(
    session: Session, tenant_id: uuid.UUID, agent_id: uuid.UUID, quota: Quota, start: datetime
) -> bool:
    """One more slot used in the window, unless it is full: a single conditional upsert."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    table = AgentQuotaWindow.__table__
    statement = (
        insert(AgentQuotaWindow)
        .values(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            agent_id=agent_id,
            quota=quota.name,
            window_start=start,
            used=1,
        )
        .on_conflict_do_update(
            index_elements=["agent_id", "quota", "window_start"],
            set_={"used": table.c.used + 1},
            where=table.c.used < quota.limit,
        )
        .returning(table.c.used)
    )
    return session.execute(statement).first() is not None
