"""``/v1/mailboxes``: the tenant's sending identities, their SMTP servers and daily caps."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from services.api.auth import Principal, require
from services.api.problems import ProblemError
from services.api.sending_schemas import MailboxCreate, MailboxOut, MailboxPatch
from shared.credentials import CredentialCipher
from shared.db.database import Database
from shared.roles import Permission
from shared.sending.mailbox_admin import (
    MailboxSpec,
    create_mailbox,
    delete_mailbox,
    get_mailbox,
    list_mailboxes,
    update_mailbox,
)
from shared.settings import Settings

router = APIRouter(prefix="/v1/mailboxes", tags=["mailboxes"])


@router.get("", response_model=list[MailboxOut])
def read_mailboxes(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.INTEGRATIONS_READ))],
) -> list[MailboxOut]:
    """The tenant's mailboxes (default first) with today's sends against each cap."""
    db: Database = request.app.state.db
    with db.unit_of_work(principal.tenant_id) as uow:
        return [MailboxOut.of(view) for view in list_mailboxes(uow, principal.tenant_id)]


@router.post("", status_code=201, response_model=MailboxOut)
def add_mailbox(
    body: MailboxCreate,
    request: Request,
    response: Response,
    principal: Annotated[Principal, Depends(require(Permission.INTEGRATIONS_WRITE))],
) -> MailboxOut:
    """Add a mailbox; 409 on a taken name. The password is stored encrypted, never returned."""
    settings: Settings = request.app.state.settings
    values = body.model_dump()
    values["daily_cap"] = body.daily_cap or settings.mailbox_daily_cap
    db: Database = request.app.state.db
    cipher: CredentialCipher = request.app.state.cipher
    with db.unit_of_work(principal.tenant_id) as uow:
        view = create_mailbox(uow, cipher, principal.tenant_id, MailboxSpec(**values))
        uow.commit()
    response.headers["Location"] = f"/v1/mailboxes/{view.id}"
    return MailboxOut.of(view)


@router.get("/{mailbox_id}", response_model=MailboxOut)
def read_mailbox(
    mailbox_id: uuid.UUID,
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.INTEGRATIONS_READ))],
) -> MailboxOut:
    db: Database = request.app.state.db
    with db.unit_of_work(principal.tenant_id) as uow:
        return MailboxOut.of(get_mailbox(uow, principal.tenant_id, mailbox_id))


@router.patch("/{mailbox_id}", response_model=MailboxOut)
def change_mailbox(
    mailbox_id: uuid.UUID,
    body: MailboxPatch,
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.INTEGRATIONS_WRITE))],
) -> MailboxOut:
    """Change some fields; ``smtp_password: null`` removes the password. 409 on a taken name."""
    changes = body.changes()
    if not changes:
        raise ProblemError(422, "Invalid request", "no fields to change")
    db: Database = request.app.state.db
    cipher: CredentialCipher = request.app.state.cipher
    with db.unit_of_work(principal.tenant_id) as uow:
        view = update_mailbox(uow, cipher, principal.tenant_id, mailbox_id, changes)
        uow.commit()
    return MailboxOut.of(view)


@router.delete("/{mailbox_id}", status_code=204)
def remove_mailbox(
    mailbox_id: uuid.UUID,
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.INTEGRATIONS_WRITE))],
) -> Response:
    db: Database = request.app.state.db
    with db.unit_of_work(principal.tenant_id) as uow:
        delete_mailbox(uow, principal.tenant_id, mailbox_id)
        uow.commit()
    return Response(status_code=204)
