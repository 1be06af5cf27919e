"""``/v1/approvals``: the review queue and its guarded decisions."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from services.api.auth import Principal, require
from services.api.schemas import ApprovalItemOut, ApprovalPage, RejectBody
from shared.db.database import Database
from shared.domain.approvals import Reviewer, approve_item, list_items, reject_item
from shared.lifecycles import ApprovalStatus
from shared.roles import Permission

router = APIRouter(prefix="/v1/approvals", tags=["approvals"])


@router.get("", response_model=ApprovalPage)
def list_approvals(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.APPROVALS_READ))],
    status: ApprovalStatus = ApprovalStatus.PENDING,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> ApprovalPage:
    db: Database = request.app.state.db
    with db.unit_of_work(principal.tenant_id) as uow:
        items, total = list_items(
            uow, principal.tenant_id, status=status, limit=limit, offset=offset
        )
        return ApprovalPage(
            items=[ApprovalItemOut.of(i) for i in items], total=total, limit=limit, offset=offset
        )


def _reviewer(principal: Principal) -> Reviewer:
    return Reviewer(key_id=principal.key_id, user_id=principal.user_id)


@router.post("/{item_id}/approve", response_model=ApprovalItemOut)
def approve(
    item_id: uuid.UUID,
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.APPROVALS_WRITE))],
) -> ApprovalItemOut:
    db: Database = request.app.state.db
    with db.unit_of_work(principal.tenant_id) as uow:
        item = approve_item(uow, principal.tenant_id, item_id, _reviewer(principal))
        return ApprovalItemOut.of(item)


@router.post("/{item_id}/reject", response_model=ApprovalItemOut)
def reject(
    item_id: uuid.UUID,
    body: RejectBody,
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.APPROVALS_WRITE))],
) -> ApprovalItemOut:
    db: Database = request.app.state.db
    with db.unit_of_work(principal.tenant_id) as uow:
        item = reject_item(uow, principal.tenant_id, item_id, _reviewer(principal), body.reason)
        return ApprovalItemOut.of(item)
