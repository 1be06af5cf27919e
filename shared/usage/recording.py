"""Recording one provider call against tenant, agent, task and draft."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from functools import partial

import structlog

from shared.db.models import ProviderUsage, UsageOutcome
from shared.db.unit_of_work import UnitOfWork
from shared.db.upsert import insert_if_absent
from shared.metrics import fleet_metrics
from shared.settings import Settings
from shared.usage.pricing import call_cost_usd

__all__ = ["ProviderCall", "record_provider_call"]


@dataclass(frozen=True)
class ProviderCall:
    provider: str
    model: str | None
    operation: str
    outcome: UsageOutcome
    tokens_in: int = 0
    tokens_out: int = 0
    credits: int = 0
    latency_ms: int = 0


def record_provider_call(
    uow: UnitOfWork,
    settings: Settings,
    call: ProviderCall,
    *,
    tenant_id: uuid.UUID,
    task_id: uuid.UUID | None = None,
    agent_id: uuid.UUID | None = None,
    draft_id: uuid.UUID | None = None,
    dedup_key: str | None = None,
) -> Decimal:
    """Add the usage row (once per ``dedup_key``, e.g. ``task:step``); returns its cost."""
    cost = call_cost_usd(
        settings,
        provider=call.provider,
        model=call.model,
        tokens_in=call.tokens_in,
        tokens_out=call.tokens_out,
        credits=call.credits,
    )
    inserted = insert_if_absent(
        uow.session,
        ProviderUsage,
        {
            "id": uuid.uuid4(),
            "tenant_id": tenant_id,
            "agent_id": agent_id,
            "task_id": task_id,
            "draft_id": draft_id,
            "provider": call.provider,
            "model": call.model,
            "operation": call.operation,
            "tokens_in": call.tokens_in,
            "tokens_out": call.tokens_out,
            "credits": call.credits,
            "latency_ms": call.latency_ms,
            "outcome": call.outcome.value,
            "cost_usd": cost,
            "dedup_key": dedup_key,
        },
    )
    if inserted:
        uow.after_commit(partial(_count_usage, call, tenant_id, cost))
    return cost


def _count_usage(call: ProviderCall, tenant_id: uuid.UUID, cost: Decimal) -> None:
    """Tokens and cost as metrics, attributed to the agent type of the task in hand."""
    metrics = fleet_metrics()
    agent_type = str(structlog.contextvars.get_contextvars().get("agent_type") or "none")
    tenant, model = str(tenant_id), call.model or "-"
    for direction, tokens in (("input", call.tokens_in), ("output", call.tokens_out)):
        if tokens:
            metrics.llm_tokens.labels(tenant, agent_type, call.provider, model, direction).inc(
                tokens
            )
    if cost:
        metrics.provider_cost.labels(tenant, agent_type, call.provider).inc(float(cost))
