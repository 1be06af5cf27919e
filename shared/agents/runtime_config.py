"""An agent's configuration as a worker reads it: the typed model, defaults for no agent."""

from __future__ import annotations

import uuid
from typing import TypeVar

import sqlalchemy as sa

from shared.agent_types import AgentType
from shared.agents.config import BaseAgentConfig, config_model
from shared.db.models import Agent
from shared.db.unit_of_work import UnitOfWork
from shared.errors import AgentNotFound, PermanentError

__all__ = ["agent_config", "pick_agent"]

C = TypeVar("C", bound=BaseAgentConfig)


def agent_config(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    agent_id: uuid.UUID | None,
    agent_type: AgentType,
    model: type[C],
) -> C:
    """The agent's stored config parsed as ``model``; the type's defaults when no agent is named.

    A named agent of another type fails the task; one that does not exist raises
    :class:`AgentNotFound`.
    """
    if model is not config_model(agent_type):
        raise TypeError(f"{model.__name__} is not the config of {agent_type.value}")
    if agent_id is None:
        return model()
    row = uow.session.execute(
        sa.select(Agent.agent_type, Agent.config).where(
            Agent.tenant_id == tenant_id, Agent.id == agent_id
        )
    ).first()
    if row is None:
        raise AgentNotFound(f"agent {agent_id} does not exist")
    if row.agent_type != agent_type.value:
        raise PermanentError(
            f"agent {agent_id} is a {row.agent_type} agent, not {agent_type.value}"
        )
    return model.model_validate(row.config or {})


def pick_agent(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    agent_type: AgentType,
    preferred: uuid.UUID | None = None,
) -> uuid.UUID | None:
    """The agent to take a step: ``preferred`` if given, else the tenant's oldest enabled agent
    of that type, else None (the step runs with the type's default configuration)."""
    if preferred is not None:
        return preferred
    return uow.session.scalar(
        sa.select(Agent.id)
        .where(
            Agent.tenant_id == tenant_id,
            Agent.agent_type == agent_type.value,
            Agent.enabled.is_(True),
        )
        .order_by(Agent.created_at, Agent.id)
        .limit(1)
    )
