"""Managing agents: create, list, read, change and delete, each change recording ``agent.updated``.

Plain functions over a :class:`UnitOfWork`; the caller commits.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from shared.agent_types import AgentType, canonical_agent_type
from shared.agents.config import to_aliases, validate_agent_config
from shared.agents.status import AgentStatusReport, agent_status
from shared.db.models import Agent
from shared.db.unit_of_work import UnitOfWork
from shared.errors import Conflict, NotFound
from shared.events import Event, EventType
from shared.lifecycles import AgentStatus, check_transition

__all__ = [
    "AgentChanges",
    "AgentStatusReport",
    "agent_status",
    "create_agent",
    "delete_agent",
    "get_agent",
    "list_agents",
    "update_agent",
]

_UNIQUE_NAME = "uq_agents_tenant_id_agent_type_name"
_PRIMARY_KEY = ("pk_agents", "agents.id")  # Postgres and SQLite name the clash differently


@dataclass(frozen=True)
class AgentChanges:
    """A partial update; ``None`` leaves a field as it is. ``config`` is merged, not replaced."""

    name: str | None = None
    status: AgentStatus | None = None
    enabled: bool | None = None
    config: dict[str, Any] | None = None


def _apply_config(agent: Agent, config: dict[str, Any]) -> None:
    agent.config = config
    agent.enabled = config["enabled"]
    agent.schedule = config["schedule"]
    agent.limits = config["limits"]
    agent.approval_required = config["approvalRequired"]


def _event(agent: Agent, **payload: Any) -> Event:
    return Event(
        event_type=EventType.AGENT_UPDATED,
        tenant_id=agent.tenant_id,
        aggregate_type="agent",
        aggregate_id=agent.id,
        payload={"agent_type": agent.agent_type, "name": agent.name, **payload},
    )


def _flush_unique(uow: UnitOfWork, agent_type: str, name: str) -> None:
    try:
        uow.session.flush()
    except IntegrityError as exc:
        if any(name in str(exc.orig) for name in _PRIMARY_KEY):
            # Another tenant's agent, invisible under row-level security.
            raise Conflict("this agent id is already in use; choose another") from None
        if _UNIQUE_NAME not in str(exc.orig):
            raise
        raise Conflict(f"a {agent_type} agent named {name!r} already exists") from None


def _ensure_id_free(uow: UnitOfWork, tenant_id: uuid.UUID, agent_id: uuid.UUID) -> None:
    taken = uow.session.scalar(
        sa.select(Agent.name).where(Agent.tenant_id == tenant_id, Agent.id == agent_id)
    )
    if taken is not None:
        raise Conflict(f"agent {agent_id} already exists (named {taken!r})")


def create_agent(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    *,
    agent_type: str,
    name: str,
    config: dict[str, Any] | None = None,
    agent_id: uuid.UUID | None = None,
) -> Agent:
    """Add an agent of a canonical type or alias with its validated config (409 on a taken name).

    ``agent_id`` lets a caller choose the id, e.g. one it already named in tasks; a taken id is
    a Conflict too.
    """
    canonical = canonical_agent_type(agent_type)
    normalised = validate_agent_config(canonical, config or {})
    if agent_id is not None:
        _ensure_id_free(uow, tenant_id, agent_id)
    agent = Agent(
        id=agent_id or uuid.uuid4(),
        tenant_id=tenant_id,
        agent_type=canonical.value,
        name=name,
        status=AgentStatus.IDLE.value,
    )
    _apply_config(agent, normalised)
    uow.session.add(agent)
    _flush_unique(uow, canonical.value, name)
    uow.record(_event(agent, action="created", status=agent.status, enabled=agent.enabled))
    return agent


def list_agents(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    *,
    agent_type: str | None = None,
    status: AgentStatus | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Agent], int]:
    """The tenant's agents by type then name, optionally filtered, with the total before paging."""
    query = sa.select(Agent).where(Agent.tenant_id == tenant_id)
    if agent_type is not None:
        query = query.where(Agent.agent_type == canonical_agent_type(agent_type).value)
    if status is not None:
        query = query.where(Agent.status == status.value)
    total = uow.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    agents = uow.session.scalars(
        query.order_by(Agent.agent_type, Agent.name, Agent.id).limit(limit).offset(offset)
    ).all()
    return list(agents), total


def get_agent(
    uow: UnitOfWork, tenant_id: uuid.UUID, agent_id: uuid.UUID, *, lock: bool = False
) -> Agent:
    """One agent of the tenant; ``NotFound`` for an unknown id or another tenant's agent."""
    query = sa.select(Agent).where(Agent.tenant_id == tenant_id, Agent.id == agent_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    agent = uow.session.scalars(query).first()
    if agent is None:
        raise NotFound(f"agent {agent_id} not found")
    return agent


_RESUMABLE = frozenset({AgentStatus.PAUSED, AgentStatus.ERROR})


def _move(agent: Agent, target: AgentStatus) -> str:
    current = AgentStatus(agent.status)
    # A running agent must not be reported idle by hand: only paused or failed ones resume.
    if target is AgentStatus.IDLE and current not in _RESUMABLE:
        raise Conflict(
            f"only a paused or errored agent can be resumed (agent is {current.value!r})"
        )
    return check_transition(current, target).value


def update_agent(
    uow: UnitOfWork, tenant_id: uuid.UUID, agent_id: uuid.UUID, changes: AgentChanges
) -> Agent:
    """Apply ``changes`` (status moves checked, config merged and re-validated); one event."""
    agent = get_agent(uow, tenant_id, agent_id, lock=True)
    diff: dict[str, dict[str, Any]] = {}
    if changes.name is not None and changes.name != agent.name:
        diff["name"] = {"from": agent.name, "to": changes.name}
        agent.name = changes.name
    if changes.status is not None:
        diff["status"] = {"from": agent.status, "to": _move(agent, changes.status)}
        agent.status = changes.status.value
    agent_type = AgentType(agent.agent_type)
    merged = dict(agent.config)
    for key, value in to_aliases(agent_type, changes.config or {}).items():
        old = merged.get(key)
        merged[key] = (
            {**old, **value} if isinstance(old, dict) and isinstance(value, dict) else value
        )
    if changes.enabled is not None:
        merged["enabled"] = changes.enabled
    config = validate_agent_config(agent_type, merged)
    changed_keys = sorted(k for k in config if config[k] != agent.config.get(k))
    if changed_keys:
        diff["config"] = {k: {"from": agent.config.get(k), "to": config[k]} for k in changed_keys}
        if "enabled" in changed_keys:
            diff["enabled"] = {"from": agent.enabled, "to": config["enabled"]}
        _apply_config(agent, config)
    if diff:
        _flush_unique(uow, agent.agent_type, agent.name)
        uow.record(_event(agent, action="updated", changes=diff))
    return agent


def delete_agent(uow: UnitOfWork, tenant_id: uuid.UUID, agent_id: uuid.UUID) -> None:
    """Delete an agent; its tasks, approval items and activity rows go with it (FK cascade)."""
    agent = get_agent(uow, tenant_id, agent_id, lock=True)
    uow.record(_event(agent, action="deleted"))
    uow.session.delete(agent)
    uow.session.flush()
