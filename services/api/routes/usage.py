"""``/v1/usage``: provider spend per day, agent, provider and model, and the monthly budget."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from services.api.auth import Principal, require
from services.api.problems import ProblemError
from shared.db.database import Database
from shared.db.models import Tenant
from shared.roles import Permission
from shared.usage import SpendRow, month_to_date_spend, spend_report

router = APIRouter(prefix="/v1/usage", tags=["usage"])

MAX_REPORT_DAYS = 366


class SpendRowOut(BaseModel):
    day: date
    agent_id: str | None
    provider: str
    model: str | None
    calls: int
    tokens_in: int
    tokens_out: int
    credits: int
    cost_usd: Decimal

    @classmethod
    def of(cls, row: SpendRow) -> SpendRowOut:
        return cls(
            day=row.day,
            agent_id=str(row.agent_id) if row.agent_id else None,
            provider=row.provider,
            model=row.model,
            calls=row.calls,
            tokens_in=row.tokens_in,
            tokens_out=row.tokens_out,
            credits=row.credits,
            cost_usd=row.cost_usd,
        )


class UsageReport(BaseModel):
    start: date
    end: date
    rows: list[SpendRowOut]
    total_cost_usd: Decimal
    month_to_date_usd: Decimal
    monthly_budget_usd: Decimal | None


class BudgetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    monthly_budget_usd: Decimal | None = Field(ge=0, max_digits=12, decimal_places=4)


@router.get("", response_model=UsageReport)
def read_usage(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.INTEGRATIONS_READ))],
    start: Annotated[date | None, Query(alias="from")] = None,
    end: Annotated[date | None, Query(alias="to", description="inclusive")] = None,
) -> UsageReport:
    today = datetime.now(UTC).date()
    end = end or today
    start = start or end.replace(day=1)
    if start > end:
        raise ProblemError(422, "Invalid request", "'from' is after 'to'")
    if (end - start).days > MAX_REPORT_DAYS:
        raise ProblemError(422, "Invalid request", f"at most {MAX_REPORT_DAYS} days per report")
    db: Database = request.app.state.db
    with db.unit_of_work(principal.tenant_id) as uow:
        rows = spend_report(
            uow,
            principal.tenant_id,
            start=datetime.combine(start, time.min, UTC),
            end=datetime.combine(end + timedelta(days=1), time.min, UTC),
        )
        month_to_date = month_to_date_spend(uow, principal.tenant_id, datetime.now(UTC))
        budget = uow.session.scalar(
            sa.select(Tenant.monthly_budget_usd).where(Tenant.id == principal.tenant_id)
        )
    return UsageReport(
        start=start,
        end=end,
        rows=[SpendRowOut.of(row) for row in rows],
        total_cost_usd=sum((row.cost_usd for row in rows), Decimal(0)),
        month_to_date_usd=month_to_date,
        monthly_budget_usd=budget,
    )


@router.put("/budget", response_model=BudgetIn)
def set_budget(
    body: BudgetIn,
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.INTEGRATIONS_WRITE))],
) -> BudgetIn:
    db: Database = request.app.state.db
    with db.unit_of_work(principal.tenant_id) as uow:
        uow.session.execute(
            sa.update(Tenant)
            .where(Tenant.id == principal.tenant_id)
            .values(monthly_budget_usd=body.monthly_budget_usd)
        )
        uow.commit()
    return body
