"""An agent's reviewer guidance in Postgres: refreshed with each decision, read into prompts,
cleared on request. Plain functions over a :class:`UnitOfWork`; the caller commits."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa

from shared.agents.service import get_agent
from shared.db.base import utcnow
from shared.db.models import AgentGuidance, ApprovalItem
from shared.db.unit_of_work import UnitOfWork
from shared.db.upsert import insert_if_absent
from shared.events import Event, EventType
from shared.guidance.summary import Guidance, Review, edit_from_content, summarise_reviews
from shared.lifecycles import ApprovalStatus

__all__ = ["clear_guidance", "current_guidance", "guidance_of", "refresh_guidance"]


def refresh_guidance(
    uow: UnitOfWork, tenant_id: uuid.UUID, agent_id: uuid.UUID | None, *, window: int
) -> AgentGuidance | None:
    """Summarise the agent's newest ``window`` rejections and edits since its guidance was last
    cleared; records ``agent.guidance_updated`` when the lines change.

    Meant to run in the transaction of each rejection or edit, so the next draft already
    follows it. None when there is no agent, or it has no guidance yet and nothing to say.
    ``NotFound`` for another tenant's agent.
    """
    if agent_id is None:
        return None
    get_agent(uow, tenant_id, agent_id)
    row = _locked(uow, tenant_id, agent_id)
    if row is None:
        if not _summary(uow, tenant_id, agent_id, None, window).lines:
            return None
        row = _create_locked(uow, tenant_id, agent_id)
    # Read after taking the lock: a concurrent decision for this agent is committed by now.
    summary = _summary(uow, tenant_id, agent_id, row.cleared_at, window)
    changed = summary.lines != list(row.lines)
    row.lines = summary.lines
    row.based_on = summary.based_on()
    row.updated_at = utcnow()
    if changed:
        uow.record(_updated_event(row, cleared=False))
    return row


def current_guidance(
    uow: UnitOfWork, tenant_id: uuid.UUID, agent_id: uuid.UUID | None
) -> list[str]:
    """The lines for the agent's next prompt; empty when it has none or they were cleared."""
    if agent_id is None:
        return []
    lines = uow.session.scalar(
        sa.select(AgentGuidance.lines).where(
            AgentGuidance.tenant_id == tenant_id, AgentGuidance.agent_id == agent_id
        )
    )
    return [line for line in lines or [] if isinstance(line, str)]


def clear_guidance(uow: UnitOfWork, tenant_id: uuid.UUID, agent_id: uuid.UUID) -> AgentGuidance:
    """Drop the agent's guidance; only decisions made from now on count towards new guidance.
    ``NotFound`` for an unknown or another tenant's agent."""
    get_agent(uow, tenant_id, agent_id)
    row = _locked(uow, tenant_id, agent_id) or _create_locked(uow, tenant_id, agent_id)
    now = utcnow()
    row.cleared_at = now
    row.lines = []
    row.based_on = Guidance([], 0, 0, [], now).based_on()
    row.updated_at = now
    uow.record(_updated_event(row, cleared=True))
    return row


def guidance_of(uow: UnitOfWork, tenant_id: uuid.UUID, agent_id: uuid.UUID) -> AgentGuidance | None:
    """The agent's stored guidance, None if it never had any; ``NotFound`` for an unknown or
    another tenant's agent."""
    get_agent(uow, tenant_id, agent_id)
    return uow.session.scalars(
        sa.select(AgentGuidance).where(
            AgentGuidance.tenant_id == tenant_id, AgentGuidance.agent_id == agent_id
        )
    ).first()


def _summary(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    agent_id: uuid.UUID,
    since: datetime | None,
    window: int,
) -> Guidance:
    decided_at = sa.func.coalesce(ApprovalItem.reviewed_at, ApprovalItem.updated_at)
    query = (
        sa.select(
            ApprovalItem.id,
            ApprovalItem.status,
            ApprovalItem.rejection_reason,
            ApprovalItem.content,
            ApprovalItem.edited_content,
            decided_at.label("decided_at"),
        )
        .where(
            ApprovalItem.tenant_id == tenant_id,
            ApprovalItem.agent_id == agent_id,
            sa.or_(
                ApprovalItem.status == ApprovalStatus.EDITED.value,
                sa.and_(
                    ApprovalItem.status == ApprovalStatus.REJECTED.value,
                    sa.func.trim(sa.func.coalesce(ApprovalItem.rejection_reason, "")) != "",
                ),
            ),
        )
        .order_by(decided_at.desc(), ApprovalItem.id.desc())
        .limit(window)
    )
    if since is not None:
        query = query.where(decided_at > since)
    reviews = [
        Review(
            item_id=row.id,
            decided_at=row.decided_at,
            rejection_reason=row.rejection_reason
            if row.status == ApprovalStatus.REJECTED.value
            else None,
            edit=edit_from_content(row.edited_content, row.content or {})
            if row.status == ApprovalStatus.EDITED.value
            else None,
        )
        for row in uow.session.execute(query)
    ]
    return summarise_reviews(reviews, since=since, window=window)


def _locked(uow: UnitOfWork, tenant_id: uuid.UUID, agent_id: uuid.UUID) -> AgentGuidance | None:
    return uow.session.scalars(
        sa.select(AgentGuidance)
        .where(AgentGuidance.tenant_id == tenant_id, AgentGuidance.agent_id == agent_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()


def _create_locked(uow: UnitOfWork, tenant_id: uuid.UUID, agent_id: uuid.UUID) -> AgentGuidance:
    # ON CONFLICT DO NOTHING: a concurrent first decision for the same agent waits here for the
    # other transaction instead of failing the decision on the unique agent_id.
    insert_if_absent(
        uow.session,
        AgentGuidance,
        {
            "id": uuid.uuid4(),
            "tenant_id": tenant_id,
            "agent_id": agent_id,
            "lines": [],
            "based_on": {},
        },
    )
    row = _locked(uow, tenant_id, agent_id)
    if row is None:
        raise RuntimeError(f"guidance of agent {agent_id} vanished while being written")
    return row


def _updated_event(row: AgentGuidance, *, cleared: bool) -> Event:
    return Event(
        event_type=EventType.AGENT_GUIDANCE_UPDATED,
        tenant_id=row.tenant_id,
        aggregate_type="agent",
        aggregate_id=row.agent_id,
        payload={"lines": list(row.lines), "based_on": row.based_on, "cleared": cleared},
    )
