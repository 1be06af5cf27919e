"""Billing Apollo calls: one usage row per task step, written with the step's state change.

Calls are collected while a step talks to Apollo and billed in the transaction that settles
the step; when a step fails part-way, what it already spent is billed before the error goes
on to the task runner. The dedup key ``{task_id}:{step}`` keeps a repeat from billing twice.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from shared.apollo.errors import PROVIDER
from shared.db.models import UsageOutcome
from shared.db.unit_of_work import UnitOfWork
from shared.errors import AgentfleetError, RateLimited
from shared.usage import ProviderCall, record_provider_call
from workers.runtime.context import WorkerContext
from workers.runtime.task_runner import TaskRun

__all__ = ["APOLLO_EXTERNAL_ID", "ApolloSpend"]

APOLLO_EXTERNAL_ID = "apollo"
"""The key of Apollo's id in an account's or contact's ``external_ids``."""


@dataclass(frozen=True)
class _Call:
    step: str
    operation: str
    credits: int
    latency_ms: int


@dataclass
class ApolloSpend:
    """The Apollo calls of one task step, to be billed to the tenant, agent and task."""

    run: TaskRun
    agent_id: uuid.UUID | None
    calls: list[_Call] = field(default_factory=list)

    def add(self, step: str, operation: str, *, credits: int, latency_ms: int) -> None:
        self.calls.append(_Call(step, operation, credits, latency_ms))

    @property
    def credits(self) -> int:
        return sum(call.credits for call in self.calls)

    def bill(self, uow: UnitOfWork, ctx: WorkerContext) -> None:
        """A usage row per call, deduplicated on ``{task_id}:{step}``."""
        for call in self.calls:
            record_provider_call(
                uow,
                ctx.settings,
                ProviderCall(
                    provider=PROVIDER,
                    model=None,
                    operation=call.operation,
                    outcome=UsageOutcome.OK,
                    credits=call.credits,
                    latency_ms=call.latency_ms,
                ),
                tenant_id=self.run.tenant_id,
                task_id=self.run.task_id,
                agent_id=self.agent_id,
                dedup_key=f"{self.run.task_id}:{call.step}",
            )

    def bill_failure(self, ctx: WorkerContext, operation: str, error: AgentfleetError) -> None:
        """Bill what was spent before ``error`` and record the failed call (unbilled)."""
        outcome = (
            UsageOutcome.RATE_LIMITED if isinstance(error, RateLimited) else UsageOutcome.ERROR
        )
        with ctx.db.unit_of_work(self.run.tenant_id) as uow:
            self.bill(uow, ctx)
            record_provider_call(
                uow,
                ctx.settings,
                ProviderCall(provider=PROVIDER, model=None, operation=operation, outcome=outcome),
                tenant_id=self.run.tenant_id,
                task_id=self.run.task_id,
                agent_id=self.agent_id,
            )
            uow.commit()
