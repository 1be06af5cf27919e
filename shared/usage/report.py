"""Spend reports: provider usage summed per day, agent, provider and model."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa

from shared.db.models import ProviderUsage
from shared.db.unit_of_work import UnitOfWork

__all__ = ["SpendRow", "spend_report"]


@dataclass(frozen=True)
class SpendRow:
    day: date
    agent_id: uuid.UUID | None
    provider: str
    model: str | None
    calls: int
    tokens_in: int
    tokens_out: int
    credits: int
    cost_usd: Decimal


def spend_report(
    uow: UnitOfWork, tenant_id: uuid.UUID, *, start: datetime, end: datetime
) -> list[SpendRow]:
    day = sa.func.date(ProviderUsage.created_at).label("day")
    rows = uow.session.execute(
        sa.select(
            day,
            ProviderUsage.agent_id,
            ProviderUsage.provider,
            ProviderUsage.model,
            sa.func.count(),
            sa.func.sum(ProviderUsage.tokens_in),
            sa.func.sum(ProviderUsage.tokens_out),
            sa.func.sum(ProviderUsage.credits),
            sa.func.sum(ProviderUsage.cost_usd),
        )
        .where(
            ProviderUsage.tenant_id == tenant_id,
            ProviderUsage.created_at >= start,
            ProviderUsage.created_at < end,
        )
        .group_by(day, ProviderUsage.agent_id, ProviderUsage.provider, ProviderUsage.model)
        .order_by(day, ProviderUsage.provider, ProviderUsage.model)
    ).all()
    return [
        SpendRow(
            day=row[0] if isinstance(row[0], date) else date.fromisoformat(str(row[0])),
            agent_id=row[1],
            provider=row[2],
            model=row[3],
            calls=int(row[4]),
            tokens_in=int(row[5] or 0),
            tokens_out=int(row[6] or 0),
            credits=int(row[7] or 0),
            cost_usd=Decimal(row[8] or 0),
        )
        for row in rows
    ]
