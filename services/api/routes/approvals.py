"""``/v1/approvals``: the review queue, one item in full, its numbers, and guarded decisions
(one at a time or in bulk)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Body, Depends, Header, Query, Request

from services.api.approval_schemas import (
    ApprovalDetailOut,
    ApprovalItemOut,
    ApprovalPage,
    ApprovalStatsOut,
    ApproveBody,
    BulkApproveBody,
    BulkOut,
    BulkRejectBody,
    DecisionOut,
    RejectBody,
)
from services.api.auth import Principal, require
from services.api.problems import ProblemError, agent_type_or_problem
from services.api.tracing import trace_id_from
from shared.db.database import Database
from shared.db.models import ApprovalItemType
from shared.domain.approval_bulk import bulk_approve, bulk_reject
from shared.domain.approval_edits import EditInvalid
from shared.domain.approval_queries import (
    ApprovalFilters,
    approval_detail,
    approval_stats,
    list_items,
)
from shared.domain.approval_refresh import refresh_item
from shared.domain.approvals import Reviewer, approve_item, reject_item
from shared.lifecycles import ApprovalStatus, TaskPriority
from shared.roles import Permission
from shared.settings import Settings

router = APIRouter(prefix="/v1/approvals", tags=["approvals"])

Reader = Annotated[Principal, Depends(require(Permission.APPROVALS_READ))]
Writer = Annotated[Principal, Depends(require(Permission.APPROVALS_WRITE))]
TraceParent = Annotated[str | None, Header()]


def _db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _reviewer(principal: Principal) -> Reviewer:
    return Reviewer(key_id=principal.key_id, user_id=principal.user_id)


@router.get("", response_model=ApprovalPage)
def list_approvals(
    request: Request,
    principal: Reader,
    status: ApprovalStatus | Literal["all"] = ApprovalStatus.PENDING,
    agent_type: Annotated[str | None, Query(description="A type or an alias.")] = None,
    item_type: ApprovalItemType | None = None,
    priority: TaskPriority | None = None,
    contact_id: uuid.UUID | None = None,
    opportunity_id: uuid.UUID | None = None,
    stale: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ApprovalPage:
    """Items by priority (urgent first), then newest first; ``status=all`` for every status."""
    filters = ApprovalFilters(
        status=None if status == "all" else ApprovalStatus(status),
        agent_type=agent_type_or_problem(agent_type) if agent_type else None,
        item_type=item_type,
        priority=priority,
        contact_id=contact_id,
        opportunity_id=opportunity_id,
        stale=stale,
    )
    with _db(request).unit_of_work(principal.tenant_id) as uow:
        items, total = list_items(uow, principal.tenant_id, filters, limit=limit, offset=offset)
        return ApprovalPage(
            items=[ApprovalItemOut.of(i) for i in items], total=total, limit=limit, offset=offset
        )


@router.get("/stats", response_model=ApprovalStatsOut)
def stats(request: Request, principal: Reader) -> ApprovalStatsOut:
    """Counts by status, pending by agent type, approved today, the oldest pending age."""
    with _db(request).unit_of_work(principal.tenant_id) as uow:
        return ApprovalStatsOut.of(approval_stats(uow, principal.tenant_id))


@router.post("/bulk/approve", response_model=BulkOut)
def approve_many(body: BulkApproveBody, request: Request, principal: Writer) -> BulkOut:
    """Each item decided on its own: one that cannot be approved leaves the others approved."""
    results = bulk_approve(
        _db(request),
        principal.tenant_id,
        body.ids,
        _reviewer(principal),
        platform_from=_settings(request).mail_from,
        guidance_window=_settings(request).reviewer_guidance_window,
    )
    return BulkOut.of(results)


@router.post("/bulk/reject", response_model=BulkOut)
def reject_many(body: BulkRejectBody, request: Request, principal: Writer) -> BulkOut:
    results = bulk_reject(
        _db(request),
        principal.tenant_id,
        body.ids,
        _reviewer(principal),
        body.reason,
        guidance_window=_settings(request).reviewer_guidance_window,
    )
    return BulkOut.of(results)


@router.get("/{item_id}", response_model=ApprovalDetailOut)
def get_approval(item_id: uuid.UUID, request: Request, principal: Reader) -> ApprovalDetailOut:
    """The item with its draft, cited facts, contact, account, event, basis and send."""
    with _db(request).unit_of_work(principal.tenant_id) as uow:
        return ApprovalDetailOut.of_detail(approval_detail(uow, principal.tenant_id, item_id))


@router.post("/{item_id}/approve", response_model=DecisionOut)
def approve(
    item_id: uuid.UUID,
    request: Request,
    principal: Writer,
    body: Annotated[ApproveBody | None, Body()] = None,
    traceparent: TraceParent = None,
) -> DecisionOut:
    """Approve, or approve edited text (``edited``); the draft's send is queued with it."""
    body = body or ApproveBody()
    with _db(request).unit_of_work(principal.tenant_id) as uow:
        try:
            decision = approve_item(
                uow,
                principal.tenant_id,
                item_id,
                _reviewer(principal),
                edit=body.edit(),
                seen_version=body.version,
                platform_from=_settings(request).mail_from,
                guidance_window=_settings(request).reviewer_guidance_window,
                trace_id=trace_id_from(traceparent),
            )
        except EditInvalid as exc:
            raise ProblemError(422, "Invalid edit", str(exc)) from None
        return DecisionOut.decided(decision.item, decision.send)


@router.post("/{item_id}/reject", response_model=DecisionOut)
def reject(
    item_id: uuid.UUID,
    body: RejectBody,
    request: Request,
    principal: Writer,
    traceparent: TraceParent = None,
) -> DecisionOut:
    with _db(request).unit_of_work(principal.tenant_id) as uow:
        decision = reject_item(
            uow,
            principal.tenant_id,
            item_id,
            _reviewer(principal),
            body.reason,
            seen_version=body.version,
            trace_id=trace_id_from(traceparent),
            guidance_window=_settings(request).reviewer_guidance_window,
        )
        return DecisionOut.decided(decision.item, decision.send)


@router.post("/{item_id}/refresh", response_model=ApprovalItemOut)
def refresh(
    item_id: uuid.UUID, request: Request, principal: Writer, traceparent: TraceParent = None
) -> ApprovalItemOut:
    """Rebuild a pending item from its draft, contact and account as they are now (clears
    ``stale``); 409 unless pending."""
    with _db(request).unit_of_work(principal.tenant_id) as uow:
        item = refresh_item(
            uow,
            principal.tenant_id,
            item_id,
            _reviewer(principal),
            trace_id=trace_id_from(traceparent),
        )
        return ApprovalItemOut.of(item)
