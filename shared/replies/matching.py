"""Which contact (and which of our sent messages) an inbound reply answers.

The reply's ``In-Reply-To`` names the Message-ID we sent with; without it the caller's
``contact_id`` decides, and last the sender's address is looked up among the contacts.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from email.utils import parseaddr

import sqlalchemy as sa

from shared.db.models import Contact, MessageSend
from shared.db.unit_of_work import UnitOfWork
from shared.lifecycles import SendStatus

__all__ = ["ReplyMatch", "latest_send_before", "match_reply", "normalize_message_id"]

_ANGLED = re.compile(r"<([^<>\s]+)>")


@dataclass(frozen=True)
class ReplyMatch:
    contact: Contact
    send: MessageSend | None
    """The message the reply answers: the one ``In-Reply-To`` names, else the latest sent to
    the contact before the reply arrived."""


def normalize_message_id(raw: str | None) -> str | None:
    """``<id@host>`` from a header value written with or without angle brackets (the first id
    when several are given); None for an empty value."""
    if raw is None or not raw.strip():
        return None
    found = _ANGLED.search(raw)
    if found:
        return f"<{found.group(1)}>"
    return f"<{raw.strip().split()[0]}>"


def match_reply(
    uow: UnitOfWork,
    tenant_id: uuid.UUID,
    *,
    received_at: datetime,
    in_reply_to: str | None = None,
    contact_id: uuid.UUID | None = None,
    from_address: str | None = None,
) -> ReplyMatch | None:
    """The contact and send the reply belongs to, or None when nothing identifies them."""
    answered = _send_by_message_id(uow, tenant_id, in_reply_to)
    if answered is not None and answered.contact_id is not None:
        contact = _contact(uow, tenant_id, answered.contact_id)
        if contact is not None:
            return ReplyMatch(contact, answered)
    contact = None
    if contact_id is not None:
        contact = _contact(uow, tenant_id, contact_id)
    elif from_address:
        contact = _contact_by_address(uow, tenant_id, from_address)
    if contact is None:
        return None
    return ReplyMatch(contact, latest_send_before(uow, tenant_id, contact.id, received_at))


def latest_send_before(
    uow: UnitOfWork, tenant_id: uuid.UUID, contact_id: uuid.UUID, moment: datetime
) -> MessageSend | None:
    """The last message sent to the contact at or before ``moment``."""
    return uow.session.scalars(
        sa.select(MessageSend)
        .where(
            MessageSend.tenant_id == tenant_id,
            MessageSend.contact_id == contact_id,
            MessageSend.status == SendStatus.SENT.value,
            MessageSend.sent_at <= moment,
        )
        .order_by(MessageSend.sent_at.desc(), MessageSend.id)
        .limit(1)
    ).first()


def _send_by_message_id(
    uow: UnitOfWork, tenant_id: uuid.UUID, in_reply_to: str | None
) -> MessageSend | None:
    angled = normalize_message_id(in_reply_to)
    if angled is None:
        return None
    return uow.session.scalars(
        sa.select(MessageSend)
        .where(
            MessageSend.tenant_id == tenant_id,
            MessageSend.message_id.in_([angled, angled[1:-1]]),
        )
        .order_by(MessageSend.created_at, MessageSend.id)
        .limit(1)
    ).first()


def _contact(uow: UnitOfWork, tenant_id: uuid.UUID, contact_id: uuid.UUID) -> Contact | None:
    return uow.session.scalars(
        sa.select(Contact).where(Contact.tenant_id == tenant_id, Contact.id == contact_id)
    ).first()


def _contact_by_address(uow: UnitOfWork, tenant_id: uuid.UUID, raw: str) -> Contact | None:
    address = parseaddr(raw)[1].strip().lower()
    if "@" not in address:
        return None
    return uow.session.scalars(
        sa.select(Contact)
        .where(Contact.tenant_id == tenant_id, sa.func.lower(Contact.email) == address)
        .order_by(Contact.created_at, Contact.id)
        .limit(1)
    ).first()
