"""The suppression list: an address on it is never sent to again, whatever is approved later.

Suppressing an address settles what is still waiting for it (queued, deferred or ready sends
become ``suppressed``) and marks the contacts with that address, in the caller's transaction.
Later sends are stopped by :func:`shared.sending.queue.queue_send`, which checks the list.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from shared.db.models import (
    Contact,
    MessageSend,
    OutreachStatus,
    SuppressedAddress,
    SuppressionReason,
    Tenant,
    TenantStatus,
)
from shared.db.unit_of_work import UnitOfWork
from shared.db.upsert import insert_if_absent
from shared.errors import NotFound
from shared.events import Event, EventType
from shared.lifecycles import SendStatus, check_transition
from shared.sending.queue import is_suppressed
from shared.sending.records import send_event
from shared.sending.unsubscribe import UnsubscribeToken

__all__ = ["LIST_UNSUBSCRIBE_SOURCE", "suppress_address", "unsubscribe_recipient"]

LIST_UNSUBSCRIBE_SOURCE = "list-unsubscribe"
_SUPPRESSED_ERROR = "the address is on the suppression list"
_SETTLED_STATUSES = (SendStatus.QUEUED, SendStatus.DEFERRED, SendStatus.READY)


def suppress_address(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    email: str,
    reason: SuppressionReason,
    source: str,
) -> bool:
    """Put ``email`` (any case) on the tenant's suppression list; True if it was not there yet.

    Idempotent: a repeat settles any send still waiting for the address and keeps the reason
    first recorded. The caller commits.
    """
    address = email.strip().lower()
    suppression_id = uuid.uuid4()
    added = not is_suppressed(uow, tenant_id, address) and insert_if_absent(
        uow.session,
        SuppressedAddress,
        {
            "id": suppression_id,
            "tenant_id": tenant_id,
            "email": address,
            "reason": reason.value,
            "source": source,
        },
    )
    # On a repeat, contacts follow the reason on record (a bounce stays a bounce).
    recorded = uow.session.scalar(
        sa.select(SuppressedAddress.reason)
        .where(
            SuppressedAddress.tenant_id == tenant_id,
            sa.func.lower(SuppressedAddress.email) == address,
        )
        .limit(1)
    )
    contact_ids = _mark_contacts(uow, tenant_id, address, SuppressionReason(recorded or reason))
    _settle_waiting_sends(uow, tenant_id, address)
    if added:
        uow.record(
            Event(
                event_type=EventType.CONTACT_SUPPRESSED,
                tenant_id=tenant_id,
                aggregate_type="suppressed_address",
                aggregate_id=suppression_id,
                payload={
                    "email": address,
                    "reason": reason.value,
                    "source": source,
                    "contact_ids": [str(contact_id) for contact_id in contact_ids],
                },
            )
        )
    return added


def unsubscribe_recipient(uow: UnitOfWork, token: UnsubscribeToken) -> bool:
    """Honour a verified one-click unsubscribe for an active tenant; True if newly suppressed."""
    tenant = uow.session.get(Tenant, token.tenant_id)
    if tenant is None or tenant.status != TenantStatus.ACTIVE:
        raise NotFound("this unsubscribe link is no longer valid")
    return suppress_address(
        uow,
        token.tenant_id,
        token.email,
        SuppressionReason.UNSUBSCRIBED,
        LIST_UNSUBSCRIBE_SOURCE,
    )


def _mark_contacts(
    uow: UnitOfWork, tenant_id: uuid.UUID, address: str, reason: SuppressionReason
) -> list[uuid.UUID]:
    status = (
        OutreachStatus.BOUNCED
        if reason is SuppressionReason.BOUNCED
        else OutreachStatus.UNSUBSCRIBED
    )
    updated = uow.session.execute(
        sa.update(Contact)
        .where(
            Contact.tenant_id == tenant_id,
            sa.func.lower(Contact.email) == address,
        )
        .values(outreach_status=status.value)
        .returning(Contact.id)
        .execution_options(synchronize_session=False)
    )
    return sorted(row.id for row in updated)


def _settle_waiting_sends(uow: UnitOfWork, tenant_id: uuid.UUID, address: str) -> None:
    sends = uow.session.scalars(
        sa.select(MessageSend)
        .where(
            MessageSend.tenant_id == tenant_id,
            sa.func.lower(MessageSend.to_address) == address,
            MessageSend.status.in_([status.value for status in _SETTLED_STATUSES]),
        )
        .order_by(MessageSend.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    for send in sends:
        send.status = check_transition(SendStatus(send.status), SendStatus.SUPPRESSED).value
        send.last_error = _SUPPRESSED_ERROR
        send.not_before = None
        send.version += 1
        uow.record(send_event(send, EventType.MESSAGE_SUPPRESSED, error=send.last_error))
