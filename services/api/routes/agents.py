"""``/v1/agents``: manage a tenant's agents and read what each is doing."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from services.api.auth import Principal, require
from services.api.problems import ProblemError, agent_type_or_problem
from shared.agents.config import AgentConfigInvalid
from shared.agents.service import (
    AgentChanges,
    agent_status,
    create_agent,
    delete_agent,
    get_agent,
    list_agents,
    update_agent,
)
from shared.db.database import Database
from shared.db.models import Agent
from shared.lifecycles import AgentStatus
from shared.roles import Permission

router = APIRouter(prefix="/v1/agents", tags=["agents"])

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class AgentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: uuid.UUID | None = Field(
        default=None,
        description="Optional: the agent's id, e.g. one already named in tasks (409 if taken).",
    )
    agent_type: str = Field(min_length=1, max_length=40, description="A type or an alias.")
    name: Name
    config: dict[str, Any] = Field(default_factory=dict)


class AgentPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    status: Literal["paused", "idle"] | None = Field(
        default=None, description="'paused' pauses the agent, 'idle' resumes it."
    )
    enabled: bool | None = None
    config: dict[str, Any] | None = Field(default=None, description="Merged into the config.")


class AgentOut(BaseModel):
    id: uuid.UUID
    tenant_id: uuid.UUID
    agent_type: str
    name: str
    status: str
    enabled: bool
    config: dict[str, Any]
    schedule: str | None
    limits: dict[str, Any]
    approval_required: bool
    last_active_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, agent: Agent) -> AgentOut:
        return cls.model_validate(agent, from_attributes=True)


class AgentPage(BaseModel):
    items: list[AgentOut]
    total: int
    limit: int
    offset: int


class CurrentTask(BaseModel):
    id: uuid.UUID
    task_type: str
    status: str
    priority: str
    progress: float
    created_at: datetime
    started_at: datetime | None


class ActivityOut(BaseModel):
    id: uuid.UUID
    action: str
    actor_kind: str
    actor_id: str | None
    entity_type: str | None
    entity_id: uuid.UUID | None
    task_id: uuid.UUID | None
    details: dict[str, Any]
    created_at: datetime


class PerformanceOut(BaseModel):
    window_days: int
    tasks_completed: int
    tasks_failed: int
    success_rate: float | None
    drafts_created: int
    approvals_approved: int
    approvals_rejected: int


class AgentStatusOut(BaseModel):
    agent: AgentOut
    current_tasks: list[CurrentTask]
    pending_approvals: int
    recent_activity: list[ActivityOut]
    performance: PerformanceOut


def _invalid(exc: AgentConfigInvalid) -> ProblemError:
    return ProblemError(422, "Invalid agent config", str(exc), errors=exc.errors)


@router.post("", status_code=201, response_model=AgentOut)
def create(
    body: AgentCreate,
    request: Request,
    response: Response,
    principal: Annotated[Principal, Depends(require(Permission.AGENTS_WRITE))],
) -> AgentOut:
    """Add an agent (type or alias) with its validated config, under the client's ``id`` when
    given; 409 on a taken name or id."""
    agent_type_or_problem(body.agent_type)
    db: Database = request.app.state.db
    with db.unit_of_work(principal.tenant_id) as uow:
        try:
            agent = create_agent(
                uow,
                principal.tenant_id,
                agent_type=body.agent_type,
                name=body.name,
                config=body.config,
                agent_id=body.id,
            )
        except AgentConfigInvalid as exc:
            raise _invalid(exc) from None
        uow.commit()
    response.headers["Location"] = f"/v1/agents/{agent.id}"
    return AgentOut.of(agent)


@router.get("", response_model=AgentPage)
def list_(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.AGENTS_READ))],
    agent_type: Annotated[str | None, Query(alias="type", max_length=40)] = None,
    status: AgentStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> AgentPage:
    """The tenant's agents, filtered by type (aliases accepted) and status, paged."""
    if agent_type is not None:
        agent_type_or_problem(agent_type)
    db: Database = request.app.state.db
    with db.unit_of_work(principal.tenant_id) as uow:
        agents, total = list_agents(
            uow,
            principal.tenant_id,
            agent_type=agent_type,
            status=status,
            limit=limit,
            offset=offset,
        )
        return AgentPage(
            items=[AgentOut.of(a) for a in agents], total=total, limit=limit, offset=offset
        )


@router.get("/{agent_id}", response_model=AgentOut)
def read(
    agent_id: uuid.UUID,
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.AGENTS_READ))],
) -> AgentOut:
    """One agent of the tenant (404 for another tenant's)."""
    db: Database = request.app.state.db
    with db.unit_of_work(principal.tenant_id) as uow:
        return AgentOut.of(get_agent(uow, principal.tenant_id, agent_id))


@router.patch("/{agent_id}", response_model=AgentOut)
def patch(
    agent_id: uuid.UUID,
    body: AgentPatch,
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.AGENTS_WRITE))],
) -> AgentOut:
    """Rename, pause/resume, enable/disable or merge config; 409 on an illegal move."""
    changes = AgentChanges(
        name=body.name,
        status=AgentStatus(body.status) if body.status else None,
        enabled=body.enabled,
        config=body.config,
    )
    db: Database = request.app.state.db
    with db.unit_of_work(principal.tenant_id) as uow:
        try:
            agent = update_agent(uow, principal.tenant_id, agent_id, changes)
        except AgentConfigInvalid as exc:
            raise _invalid(exc) from None
        uow.commit()
    return AgentOut.of(agent)


@router.delete("/{agent_id}", status_code=204)
def delete(
    agent_id: uuid.UUID,
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.AGENTS_DELETE))],
) -> Response:
    """Delete an agent with its tasks, approval items and activity (FK cascade)."""
    db: Database = request.app.state.db
    with db.unit_of_work(principal.tenant_id) as uow:
        delete_agent(uow, principal.tenant_id, agent_id)
        uow.commit()
    return Response(status_code=204)


@router.get("/{agent_id}/status", response_model=AgentStatusOut)
def status(
    agent_id: uuid.UUID,
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.AGENTS_READ))],
) -> AgentStatusOut:
    """Current tasks, pending approvals, recent activity and 7-day performance."""
    db: Database = request.app.state.db
    with db.unit_of_work(principal.tenant_id) as uow:
        report = agent_status(uow, principal.tenant_id, agent_id)
        return AgentStatusOut.model_validate(report, from_attributes=True)
