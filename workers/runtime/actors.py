"""Declaring an agent's actor: queue and actor name are the canonical agent type (contract)."""

from __future__ import annotations

from typing import Any

import dramatiq

from shared.agent_types import AgentType
from workers.runtime.bootstrap import ActorDeclaration
from workers.runtime.context import WorkerBoot
from workers.runtime.outcomes import note_outcome
from workers.runtime.task_runner import AgentHandler, run_task_message

__all__ = ["agent_actor_declaration"]


def agent_actor_declaration(agent_type: AgentType, handler: AgentHandler) -> ActorDeclaration:
    """A declaration that registers ``agent_type``'s thin actor on a broker: every message goes
    through :func:`run_task_message` to ``handler``, the agent's service function."""

    def declare(broker: dramatiq.Broker, boot: WorkerBoot) -> dramatiq.Actor[Any, Any]:
        def run(envelope: object) -> None:
            note_outcome(run_task_message(boot.context, agent_type, envelope, handler))

        run.__name__ = agent_type.value
        register = dramatiq.actor(
            broker=broker, actor_name=agent_type.value, queue_name=agent_type.value
        )
        return register(run)

    return declare
