"""Managing a tenant's mailboxes: the SMTP password is stored encrypted and never shown.

One mailbox at most is the default: making one the default unsets the others in the same
transaction, under a per-tenant lock so two concurrent changes cannot both win. The caller
commits.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from shared.credentials.cipher import CredentialCipher
from shared.db.locks import transaction_lock
from shared.db.models import Mailbox, SmtpSecurity
from shared.db.unit_of_work import UnitOfWork
from shared.errors import Conflict, NotFound
from shared.sending.caps import sends_claimed_today
from shared.sending.mailboxes import decrypt_mailbox_password, encrypt_mailbox_password

__all__ = [
    "MailboxSpec",
    "MailboxView",
    "create_mailbox",
    "delete_mailbox",
    "get_mailbox",
    "list_mailboxes",
    "update_mailbox",
]

_UNIQUE_NAME = "uq_mailboxes_tenant_id_name"


@dataclass(frozen=True)
class MailboxSpec:
    """A new mailbox; ``smtp_password`` is plaintext only on its way to the cipher."""

    name: str
    from_address: str
    smtp_host: str
    daily_cap: int
    from_name: str | None = None
    reply_to: str | None = None
    smtp_port: int = 587
    smtp_security: SmtpSecurity = SmtpSecurity.STARTTLS
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    is_default: bool = False
    is_active: bool = True
    imap_host: str | None = None
    imap_port: int | None = None
    imap_folder: str | None = None


_SPEC_FIELDS = frozenset(f.name for f in fields(MailboxSpec))


@dataclass(frozen=True)
class MailboxView:
    """What may be shown of a mailbox: whether it has a password, never the password."""

    id: uuid.UUID
    name: str
    from_address: str
    from_name: str | None
    reply_to: str | None
    smtp_host: str
    smtp_port: int
    smtp_security: str
    smtp_username: str | None
    has_password: bool
    daily_cap: int
    is_default: bool
    is_active: bool
    imap_host: str | None
    imap_port: int | None
    imap_folder: str | None
    sent_today: int
    remaining_today: int
    created_at: datetime
    updated_at: datetime


def create_mailbox(
    uow: UnitOfWork, cipher: CredentialCipher, tenant_id: uuid.UUID, spec: MailboxSpec
) -> MailboxView:
    """Add a mailbox (Conflict on a taken name)."""
    mailbox = Mailbox(id=uuid.uuid4(), tenant_id=tenant_id, poll_state={})
    if spec.is_default:
        _lock_defaults(uow, tenant_id)
    _apply(mailbox, cipher, {f: getattr(spec, f) for f in _SPEC_FIELDS})
    uow.session.add(mailbox)
    _flush_unique(uow, mailbox.name)
    if spec.is_default:
        _unset_other_defaults(uow, tenant_id, mailbox.id)
    return _views(uow, [mailbox])[0]


def list_mailboxes(uow: UnitOfWork, tenant_id: uuid.UUID) -> list[MailboxView]:
    """The tenant's mailboxes, the default first, then by name."""
    rows = uow.session.scalars(
        sa.select(Mailbox)
        .where(Mailbox.tenant_id == tenant_id)
        .order_by(Mailbox.is_default.desc(), Mailbox.name, Mailbox.id)
    ).all()
    return _views(uow, rows)


def get_mailbox(uow: UnitOfWork, tenant_id: uuid.UUID, mailbox_id: uuid.UUID) -> MailboxView:
    return _views(uow, [_find(uow, tenant_id, mailbox_id)])[0]


def update_mailbox(
    uow: UnitOfWork,
    cipher: CredentialCipher,
    tenant_id: uuid.UUID,
    mailbox_id: uuid.UUID,
    changes: Mapping[str, Any],
) -> MailboxView:
    """Change the named fields (a :class:`MailboxSpec` field each); ``smtp_password=None``
    removes the password. Conflict on a taken name."""
    unknown = set(changes) - _SPEC_FIELDS
    if unknown:
        raise ValueError(f"unknown mailbox fields: {', '.join(sorted(unknown))}")
    becomes_default = bool(changes.get("is_default"))
    if becomes_default:
        _lock_defaults(uow, tenant_id)
    mailbox = _find(uow, tenant_id, mailbox_id, lock=True)
    _apply(mailbox, cipher, changes)
    _flush_unique(uow, mailbox.name)
    if becomes_default:
        _unset_other_defaults(uow, tenant_id, mailbox.id)
    return _views(uow, [mailbox])[0]


def delete_mailbox(uow: UnitOfWork, tenant_id: uuid.UUID, mailbox_id: uuid.UUID) -> None:
    """Remove a mailbox; sends that used it keep their history (their mailbox becomes null)."""
    deleted = uow.session.execute(
        sa.delete(Mailbox)
        .where(Mailbox.tenant_id == tenant_id, Mailbox.id == mailbox_id)
        .returning(Mailbox.id)
    ).first()
    if deleted is None:
        raise NotFound(f"mailbox {mailbox_id} not found")


def _apply(mailbox: Mailbox, cipher: CredentialCipher, values: Mapping[str, Any]) -> None:
    password: str | None = values.get("smtp_password")
    reseal = "smtp_password" in values
    if not reseal and "name" in values and values["name"] != mailbox.name:
        # The password is sealed under the mailbox's name: a rename seals it again.
        password, reseal = decrypt_mailbox_password(cipher, mailbox), True
    for name, value in values.items():
        if name != "smtp_password":
            setattr(mailbox, name, value.value if isinstance(value, SmtpSecurity) else value)
    if not reseal:
        return
    if password is None:
        mailbox.encrypted_password = None
        mailbox.encryption_key_id = None
    else:
        mailbox.encrypted_password, mailbox.encryption_key_id = encrypt_mailbox_password(
            cipher, tenant_id=mailbox.tenant_id, name=mailbox.name, password=password
        )


def _find(
    uow: UnitOfWork, tenant_id: uuid.UUID, mailbox_id: uuid.UUID, *, lock: bool = False
) -> Mailbox:
    query = sa.select(Mailbox).where(Mailbox.tenant_id == tenant_id, Mailbox.id == mailbox_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    mailbox = uow.session.scalars(query).first()
    if mailbox is None:
        raise NotFound(f"mailbox {mailbox_id} not found")
    return mailbox


def _lock_defaults(uow: UnitOfWork, tenant_id: uuid.UUID) -> None:
    transaction_lock(uow.session, uuid.uuid5(tenant_id, "mailboxes:default").int >> 65)


def _unset_other_defaults(uow: UnitOfWork, tenant_id: uuid.UUID, keep: uuid.UUID) -> None:
    uow.session.execute(
        sa.update(Mailbox)
        .where(Mailbox.tenant_id == tenant_id, Mailbox.id != keep, Mailbox.is_default.is_(True))
        .values(is_default=False)
        .execution_options(synchronize_session=False)
    )


def _flush_unique(uow: UnitOfWork, name: str) -> None:
    try:
        uow.session.flush()
    except IntegrityError as exc:
        if _UNIQUE_NAME not in str(exc.orig):
            raise
        raise Conflict(f"a mailbox named {name!r} already exists") from None


def _views(uow: UnitOfWork, mailboxes: Iterable[Mailbox]) -> list[MailboxView]:
    """Views with today's count, taken the way the sender counts against the cap."""
    rows = list(mailboxes)
    now = datetime.now(UTC)
    sent = {m.id: sends_claimed_today(uow, m.tenant_id, m.id, now) for m in rows}
    return [
        MailboxView(
            id=m.id,
            name=m.name,
            from_address=m.from_address,
            from_name=m.from_name,
            reply_to=m.reply_to,
            smtp_host=m.smtp_host,
            smtp_port=m.smtp_port,
            smtp_security=m.smtp_security,
            smtp_username=m.smtp_username,
            has_password=m.encrypted_password is not None,
            daily_cap=m.daily_cap,
            is_default=m.is_default,
            is_active=m.is_active,
            imap_host=m.imap_host,
            imap_port=m.imap_port,
            imap_folder=m.imap_folder,
            sent_today=sent.get(m.id, 0),
            remaining_today=max(0, m.daily_cap - sent.get(m.id, 0)),
            created_at=m.created_at,
            updated_at=m.updated_at,
        )
        for m in rows
    ]
