"""``/v1/sends``: every send of an approved draft, and the queues people work through —
``ready`` (send by hand, then mark sent) and ``outcome_unknown`` (confirm what happened)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from services.api.auth import Principal, require
from services.api.sending_schemas import ConfirmBody, SendDetailOut, SendOut, SendPage
from shared.db.database import Database
from shared.db.models import Channel
from shared.domain.approvals import Reviewer
from shared.lifecycles import SendStatus
from shared.roles import Permission
from shared.sending.send_review import (
    confirm_outcome,
    get_send,
    list_sends,
    mark_sent,
    retry_send,
)

router = APIRouter(prefix="/v1/sends", tags=["sends"])


def _reviewer(principal: Principal) -> Reviewer:
    return Reviewer(key_id=principal.key_id, user_id=principal.user_id)


@router.get("", response_model=SendPage)
def read_sends(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.APPROVALS_READ))],
    status: SendStatus | None = None,
    channel: Channel | None = None,
    contact_id: uuid.UUID | None = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> SendPage:
    """Sends newest first, e.g. ``?status=ready`` or ``?status=outcome_unknown``."""
    db: Database = request.app.state.db
    with db.unit_of_work(principal.tenant_id) as uow:
        sends, total = list_sends(
            uow,
            principal.tenant_id,
            status=status,
            channel=channel,
            contact_id=contact_id,
            limit=limit,
            offset=offset,
        )
        return SendPage(
            items=[SendOut.of(s) for s in sends], total=total, limit=limit, offset=offset
        )


@router.get("/{send_id}", response_model=SendDetailOut)
def read_send(
    send_id: uuid.UUID,
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.APPROVALS_READ))],
) -> SendDetailOut:
    db: Database = request.app.state.db
    with db.unit_of_work(principal.tenant_id) as uow:
        return SendDetailOut.of_detail(get_send(uow, principal.tenant_id, send_id))


@router.post("/{send_id}/mark-sent", response_model=SendOut)
def mark_ready_send_sent(
    send_id: uuid.UUID,
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.APPROVALS_WRITE))],
) -> SendOut:
    """The message was sent by hand (LinkedIn, other channels); 409 unless the send is ready."""
    db: Database = request.app.state.db
    with db.unit_of_work(principal.tenant_id) as uow:
        send = mark_sent(uow, principal.tenant_id, send_id, _reviewer(principal))
        uow.commit()
    return SendOut.of(send)


@router.post("/{send_id}/confirm", response_model=SendOut)
def confirm_send(
    send_id: uuid.UUID,
    body: ConfirmBody,
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.APPROVALS_WRITE))],
) -> SendOut:
    """Settle an outcome-unknown send: delivered records it sent, not delivered queues it
    again; 409 unless the send's outcome is unknown."""
    db: Database = request.app.state.db
    with db.unit_of_work(principal.tenant_id) as uow:
        send = confirm_outcome(
            uow,
            principal.tenant_id,
            send_id,
            _reviewer(principal),
            delivered=body.delivered,
            note=body.note,
        )
        uow.commit()
    return SendOut.of(send)


@router.post("/{send_id}/retry", response_model=SendOut)
def retry_failed_send(
    send_id: uuid.UUID,
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.APPROVALS_WRITE))],
) -> SendOut:
    """Queue a failed send again; 409 unless it failed (or when it still has no address)."""
    db: Database = request.app.state.db
    with db.unit_of_work(principal.tenant_id) as uow:
        send = retry_send(uow, principal.tenant_id, send_id, _reviewer(principal))
        uow.commit()
    return SendOut.of(send)
