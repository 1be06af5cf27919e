"""Usage and cost per call, spend reports, and monthly budgets that fail fast once exceeded."""

from __future__ import annotations

import uuid
from decimal import Decimal

import httpx
import pytest
import sqlalchemy as sa

from shared.db.database import Database
from shared.db.models import OutboxMessage, UsageOutcome
from shared.settings import Settings
from shared.tenancy import CreatedKey, create_api_key, create_tenant
from shared.usage import BudgetExceeded, ProviderCall, ensure_within_budget, record_provider_call
from tests.support.api import auth

pytestmark = pytest.mark.integration

DRAFT_CALL = ProviderCall(
    provider="openai",
    model="gpt-4.1-mini",
    operation="chat.completions",
    outcome=UsageOutcome.OK,
    tokens_in=1_000,
    tokens_out=500,
    latency_ms=120,
)


def _record(
    db: Database, settings: Settings, tenant_id: uuid.UUID, dedup_key: str | None = None
) -> Decimal:
    with db.unit_of_work(tenant_id) as uow:
        cost = record_provider_call(
            uow, settings, DRAFT_CALL, tenant_id=tenant_id, dedup_key=dedup_key
        )
        uow.commit()
    return cost


def test_calls_are_priced_from_the_table_and_billed_once_per_dedup_key(
    api: httpx.Client, tenant: CreatedKey, db: Database, settings: Settings
) -> None:
    first = _record(db, settings, tenant.tenant_id, dedup_key=f"{tenant.tenant_id}:draft")
    _record(db, settings, tenant.tenant_id, dedup_key=f"{tenant.tenant_id}:draft")
    apollo = ProviderCall("apollo", None, "mixed_companies.search", UsageOutcome.OK, credits=3)
    with db.unit_of_work(tenant.tenant_id) as uow:
        record_provider_call(uow, settings, apollo, tenant_id=tenant.tenant_id)
        uow.commit()

    report = api.get("/v1/usage", headers=auth(tenant.token)).json()

    assert first == Decimal("0.001200")  # 1000 * $0.40/M + 500 * $1.60/M
    by_provider = {row["provider"]: row for row in report["rows"]}
    assert by_provider["openai"]["calls"] == 1
    assert by_provider["openai"]["tokens_in"] == 1_000
    assert by_provider["apollo"]["credits"] == 3
    assert Decimal(report["total_cost_usd"]) == Decimal("0.001200") + Decimal("0.075")
    assert Decimal(report["month_to_date_usd"]) == Decimal(report["total_cost_usd"])


def test_an_exceeded_budget_fails_fast_with_one_event_and_spares_other_tenants(
    api: httpx.Client, tenant: CreatedKey, db: Database, owner_db: Database, settings: Settings
) -> None:
    other = create_api_key(db, create_tenant(db, "Thrifty Ltd"))
    for key in (tenant, other):
        budget = api.put(
            "/v1/usage/budget", json={"monthly_budget_usd": "0.002"}, headers=auth(key.token)
        )
        assert budget.status_code == 200
    _record(db, settings, tenant.tenant_id)
    ensure_within_budget(db, tenant.tenant_id)  # 0.0012 of 0.002: still fine
    _record(db, settings, tenant.tenant_id)

    for _ in range(3):
        with pytest.raises(BudgetExceeded, match=r"monthly budget of \$0.0020 reached"):
            ensure_within_budget(db, tenant.tenant_id)
    ensure_within_budget(db, other.tenant_id)

    with owner_db.unit_of_work() as uow:
        events = uow.session.scalars(
            sa.select(OutboxMessage).where(
                OutboxMessage.destination == "usage.budget_exceeded",
                OutboxMessage.tenant_id.in_([tenant.tenant_id, other.tenant_id]),
            )
        ).all()
    assert [e.tenant_id for e in events] == [tenant.tenant_id]
    assert events[0].payload["payload"]["spent_usd"] == "0.002400"


def test_usage_report_rejects_bad_ranges(api: httpx.Client, tenant: CreatedKey) -> None:
    backwards = api.get(
        "/v1/usage", params={"from": "2026-02-01", "to": "2026-01-01"}, headers=auth(tenant.token)
    )
    too_long = api.get(
        "/v1/usage", params={"from": "2024-01-01", "to": "2026-01-01"}, headers=auth(tenant.token)
    )
    not_a_date = api.get("/v1/usage", params={"from": "yesterday"}, headers=auth(tenant.token))
    negative = api.put(
        "/v1/usage/budget", json={"monthly_budget_usd": "-1"}, headers=auth(tenant.token)
    )

    assert backwards.status_code == 422
    assert too_long.status_code == 422
    assert not_a_date.status_code == 422
    assert negative.status_code == 422
