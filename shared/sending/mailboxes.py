"""The mailbox a send goes out through, and mailbox SMTP passwords sealed at rest.

A send uses the mailbox it names, else the tenant's default active mailbox, else the platform
mailbox configured in the settings (``smtp_*``, ``mail_from``). Passwords are encrypted with the
credential cipher, bound to the tenant and the mailbox name, so a ciphertext copied to another
row does not open.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import sqlalchemy as sa

from shared.credentials import CredentialCipher
from shared.db.models import Mailbox, MessageSend, SmtpSecurity
from shared.db.unit_of_work import UnitOfWork
from shared.errors import PermanentError
from shared.settings import Settings

__all__ = [
    "PLATFORM_MAILBOX",
    "MailboxUnavailable",
    "SendingMailbox",
    "SmtpServer",
    "decrypt_mailbox_password",
    "encrypt_mailbox_password",
    "platform_mailbox",
    "resolve_mailbox",
]

PLATFORM_MAILBOX = "platform"
"""The name a send through the platform mailbox (from the settings) is recorded under."""


class MailboxUnavailable(PermanentError):
    """No mailbox can carry the send; the reason says which one is missing or why."""


@dataclass(frozen=True)
class SmtpServer:
    host: str
    port: int
    security: SmtpSecurity
    username: str | None = None
    password: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class SendingMailbox:
    """Everything a delivery needs from a mailbox, read once when the send is claimed."""

    mailbox_id: uuid.UUID | None
    """None for the platform mailbox."""
    name: str
    from_address: str
    from_name: str | None
    reply_to: str | None
    daily_cap: int
    server: SmtpServer


def _password_context(tenant_id: uuid.UUID, name: str) -> str:
    return f"mailbox-smtp-password:{tenant_id}:{name}"


def encrypt_mailbox_password(
    cipher: CredentialCipher, *, tenant_id: uuid.UUID, name: str, password: str
) -> tuple[bytes, str]:
    """``(encrypted_password, encryption_key_id)`` for a mailbox row. Renaming the mailbox
    means encrypting the password again under the new name."""
    return cipher.encrypt(password, context=_password_context(tenant_id, name))


def decrypt_mailbox_password(cipher: CredentialCipher, mailbox: Mailbox) -> str | None:
    """The mailbox's SMTP password, or None when it has none."""
    if mailbox.encrypted_password is None:
        return None
    if mailbox.encryption_key_id is None:
        raise MailboxUnavailable(f"mailbox {mailbox.name!r} has a password but no key id")
    return cipher.decrypt(
        mailbox.encrypted_password,
        mailbox.encryption_key_id,
        context=_password_context(mailbox.tenant_id, mailbox.name),
    )


def platform_mailbox(settings: Settings) -> SendingMailbox | None:
    """The platform mailbox, when the settings configure one (``smtp_host`` and ``mail_from``)."""
    if settings.smtp_host is None or settings.mail_from is None:
        return None
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    return SendingMailbox(
        mailbox_id=None,
        name=PLATFORM_MAILBOX,
        from_address=settings.mail_from,
        from_name=settings.mail_from_name,
        reply_to=None,
        daily_cap=settings.mailbox_daily_cap,
        server=SmtpServer(
            host=settings.smtp_host,
            port=settings.smtp_port,
            security=SmtpSecurity(settings.smtp_security),
            username=settings.smtp_username,
            password=password,
        ),
    )


def _from_row(cipher: CredentialCipher, mailbox: Mailbox) -> SendingMailbox:
    return SendingMailbox(
        mailbox_id=mailbox.id,
        name=mailbox.name,
        from_address=mailbox.from_address,
        from_name=mailbox.from_name,
        reply_to=mailbox.reply_to,
        daily_cap=mailbox.daily_cap,
        server=SmtpServer(
            host=mailbox.smtp_host,
            port=mailbox.smtp_port,
            security=SmtpSecurity(mailbox.smtp_security),
            username=mailbox.smtp_username,
            password=decrypt_mailbox_password(cipher, mailbox),
        ),
    )


def resolve_mailbox(
    uow: UnitOfWork, settings: Settings, cipher: CredentialCipher, send: MessageSend
) -> SendingMailbox:
    """The mailbox ``send`` goes out through; raises :class:`MailboxUnavailable` when none can.

    A send that names a mailbox keeps it: when that mailbox was deactivated the send fails
    rather than going out under another identity.
    """
    session = uow.session
    if send.mailbox_id is not None:
        named = session.scalars(
            sa.select(Mailbox).where(
                Mailbox.tenant_id == send.tenant_id, Mailbox.id == send.mailbox_id
            )
        ).first()
        if named is not None:
            if not named.is_active:
                raise MailboxUnavailable(f"mailbox {named.name!r} is not active")
            return _from_row(cipher, named)
    default = session.scalars(
        sa.select(Mailbox)
        .where(Mailbox.tenant_id == send.tenant_id, Mailbox.is_active.is_(True))
        .order_by(Mailbox.is_default.desc(), Mailbox.created_at, Mailbox.id)
        .limit(1)
    ).first()
    if default is not None:
        return _from_row(cipher, default)
    platform = platform_mailbox(settings)
    if platform is None:
        raise MailboxUnavailable(
            "the tenant has no active mailbox and no platform mailbox is configured "
            "(smtp_host and mail_from)"
        )
    return platform
