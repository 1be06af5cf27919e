"""``agentfleet usage``: provider calls, tokens, Apollo credits and cost per tenant, agent,
provider and model over a range of days (UTC, both ends included)."""

from __future__ import annotations

import argparse
import uuid
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from services.cli.output import CommandError, Progress, print_json, print_table
from services.cli.runtime import (
    app_database,
    owner_database,
    require_tenant,
    settings_or_exit,
    tenant_ids,
)
from shared.db.database import Database
from shared.db.models import Agent
from shared.usage import SpendRow, spend_report

__all__ = ["MAX_REPORT_DAYS", "show_usage"]

MAX_REPORT_DAYS = 366

_Key = tuple[uuid.UUID | None, str, str | None]


def show_usage(args: argparse.Namespace) -> int:
    end: date = args.to or datetime.now(UTC).date()
    start: date = args.start or end.replace(day=1)
    if start > end:
        raise CommandError("--from is after --to", exit_code=2)
    if (end - start).days > MAX_REPORT_DAYS:
        raise CommandError(f"at most {MAX_REPORT_DAYS} days per report", exit_code=2)
    settings = settings_or_exit()
    with app_database(settings) as db:
        if args.tenant is not None:
            require_tenant(db, args.tenant, active=False)
            tenants = [args.tenant]
        else:
            with owner_database(settings) as owner:
                tenants = tenant_ids(owner)
        progress = Progress("tenants", len(tenants))
        rows: list[dict[str, Any]] = []
        for tenant_id in tenants:
            rows += _tenant_rows(db, tenant_id, start, end)
            progress.step()
        progress.finish()
    total = sum((Decimal(r["cost_usd"]) for r in rows), Decimal(0))
    if args.json:
        print_json({"from": start, "to": end, "rows": rows, "total_cost_usd": str(total)})
        return 0
    print(f"usage from {start} to {end} (UTC, inclusive)")
    print_table(
        [
            "tenant",
            "agent",
            "provider",
            "model",
            "calls",
            "tokens in",
            "tokens out",
            "credits",
            "cost usd",
        ],
        [
            [
                r["tenant_id"],
                r["agent_name"] or r["agent_id"],
                r["provider"],
                r["model"],
                r["calls"],
                r["tokens_in"],
                r["tokens_out"],
                r["credits"],
                r["cost_usd"],
            ]
            for r in rows
        ],
    )
    print(f"total cost usd: {total}")
    return 0


def _tenant_rows(
    db: Database, tenant_id: uuid.UUID, start: date, end: date
) -> list[dict[str, Any]]:
    """The tenant's spend summed over the days, one row per agent, provider and model."""
    with db.unit_of_work(tenant_id) as uow:
        daily = spend_report(
            uow,
            tenant_id,
            start=datetime.combine(start, time.min, UTC),
            end=datetime.combine(end + timedelta(days=1), time.min, UTC),
        )
        names = dict(
            uow.session.execute(
                sa.select(Agent.id, Agent.name).where(Agent.tenant_id == tenant_id)
            ).all()
        )
    sums: dict[_Key, list[SpendRow]] = defaultdict(list)
    for row in daily:
        sums[(row.agent_id, row.provider, row.model)].append(row)
    return [
        {
            "tenant_id": str(tenant_id),
            "agent_id": str(agent_id) if agent_id else None,
            "agent_name": names.get(agent_id) if agent_id else None,
            "provider": provider,
            "model": model,
            "calls": sum(r.calls for r in group),
            "tokens_in": sum(r.tokens_in for r in group),
            "tokens_out": sum(r.tokens_out for r in group),
            "credits": sum(r.credits for r in group),
            "cost_usd": str(sum((r.cost_usd for r in group), Decimal(0))),
        }
        for (agent_id, provider, model), group in sorted(sums.items(), key=_order)
    ]


def _order(entry: tuple[_Key, list[SpendRow]]) -> tuple[str, str, str]:
    (agent_id, provider, model), _ = entry
    return (str(agent_id or ""), provider, model or "")
