"""Per-tenant monthly budgets: checked before every provider call, announced once a month."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import sqlalchemy as sa

from shared.db.database import Database
from shared.db.models import OutboxMessage, ProviderUsage, Tenant
from shared.db.unit_of_work import UnitOfWork
from shared.db.upsert import insert_if_absent
from shared.errors import PermanentError
from shared.events import Event, EventType
from shared.outbox import event_outbox_values

__all__ = ["BudgetExceeded", "budget_refusal", "ensure_within_budget", "month_to_date_spend"]


class BudgetExceeded(PermanentError):
    """The tenant spent its monthly budget; provider calls fail fast until next month."""


def _month_start(now: datetime) -> datetime:
    return now.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def month_to_date_spend(uow: UnitOfWork, tenant_id: uuid.UUID, now: datetime) -> Decimal:
    spent = uow.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(ProviderUsage.cost_usd), 0)).where(
            ProviderUsage.tenant_id == tenant_id,
            ProviderUsage.created_at >= _month_start(now),
        )
    )
    return Decimal(spent or 0)


def budget_refusal(uow: UnitOfWork, tenant_id: uuid.UUID, now: datetime) -> BudgetExceeded | None:
    """The refusal to raise if the month's spend reached the budget, else None.

    The first refusal of a month adds one ``usage.budget_exceeded`` event (deduplicated on
    tenant and month) to the unit of work; commit it before raising, so it survives the
    failing task.
    """
    budget = uow.session.scalar(sa.select(Tenant.monthly_budget_usd).where(Tenant.id == tenant_id))
    if budget is None:
        return None
    spent = month_to_date_spend(uow, tenant_id, now)
    if spent < budget:
        return None
    month = _month_start(now).strftime("%Y-%m")
    event = Event(
        event_type=EventType.USAGE_BUDGET_EXCEEDED,
        tenant_id=tenant_id,
        aggregate_type="tenant",
        aggregate_id=tenant_id,
        payload={"month": month, "budget_usd": str(budget), "spent_usd": str(spent)},
    )
    values = event_outbox_values(event) | {"dedup_key": f"budget_exceeded:{tenant_id}:{month}"}
    insert_if_absent(uow.session, OutboxMessage, values)
    return BudgetExceeded(
        f"monthly budget of ${budget} reached (spent ${spent} in {month}); "
        "provider calls resume next month or when the budget is raised"
    )


def ensure_within_budget(
    db: Database, tenant_id: uuid.UUID, *, now: datetime | None = None
) -> None:
    """Raise :class:`BudgetExceeded` when the month's spend reached the budget."""
    with db.unit_of_work(tenant_id) as uow:
        refusal = budget_refusal(uow, tenant_id, now or datetime.now(UTC))
        if refusal is None:
            return
        uow.commit()
    raise refusal
