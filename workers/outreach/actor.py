"""The outreach actor: thin glue from a queue message to the outreach service."""

from __future__ import annotations

from typing import Any

import dramatiq

from shared.agent_types import AgentType
from workers.outreach.service import draft_outreach
from workers.runtime.context import WorkerBoot
from workers.runtime.task_runner import run_task_message

__all__ = ["declare_outreach_actor"]


def declare_outreach_actor(broker: dramatiq.Broker, boot: WorkerBoot) -> dramatiq.Actor[Any, Any]:
    """Register the actor on ``broker``; queue and actor name are the agent type (contract)."""

    def outreach(envelope: object) -> None:
        run_task_message(boot.context, AgentType.OUTREACH, envelope, draft_outreach)

    register = dramatiq.actor(
        broker=broker, actor_name=AgentType.OUTREACH.value, queue_name=AgentType.OUTREACH.value
    )
    return register(outreach)
