"""``/v1/replies``: record an inbound reply to one of our messages."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Request, Response

from services.api.auth import Principal, require
from services.api.problems import ProblemError
from services.api.reply_schemas import ReplyIn, ReplyOut
from services.api.tracing import trace_id_from
from shared.db.base import utcnow
from shared.db.database import Database
from shared.replies import IncomingReply, UnmatchedReply, record_reply
from shared.roles import Permission

router = APIRouter(prefix="/v1/replies", tags=["replies"])


@router.post("", status_code=202, response_model=ReplyOut)
def post_reply(
    body: ReplyIn,
    request: Request,
    response: Response,
    principal: Annotated[Principal, Depends(require(Permission.APPROVALS_WRITE))],
    traceparent: Annotated[str | None, Header()] = None,
) -> ReplyOut:
    """Record the reply, stop the contact's pending follow-ups and queue its classification
    (202); the same reply posted again answers 200 with the first record."""
    incoming = IncomingReply(
        body=body.body,
        received_at=body.received_at or utcnow(),
        contact_id=body.contact_id,
        from_address=body.from_address,
        in_reply_to=body.in_reply_to,
        message_id=body.message_id,
        subject=body.subject,
        source="api",
        trace_id=trace_id_from(traceparent),
    )
    db: Database = request.app.state.db
    with db.unit_of_work(principal.tenant_id) as uow:
        try:
            recorded = record_reply(uow, principal.tenant_id, incoming)
        except UnmatchedReply as exc:
            raise ProblemError(422, "Reply not matched", str(exc)) from None
        if recorded.created:
            uow.commit()
        else:
            response.status_code = 200
        return ReplyOut.of(recorded)
