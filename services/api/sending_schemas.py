"""Request and response bodies of the mailbox and send endpoints."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from shared.db.models import MessageSend, SmtpSecurity
from shared.sending.mailbox_admin import MailboxView
from shared.sending.send_review import SendDetail

__all__ = [
    "ConfirmBody",
    "MailboxCreate",
    "MailboxOut",
    "MailboxPatch",
    "SendDetailOut",
    "SendOut",
    "SendPage",
]

# Strict enough to refuse header injection and typos; no network lookups (no email-validator).
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
EMAIL_PATTERN = rf"^{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+[A-Za-z]{{2,63}}$"
HOST_PATTERN = rf"^{_LABEL}(?:\.{_LABEL})*$"

EmailAddress = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=320, pattern=EMAIL_PATTERN)
]
Hostname = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=253, pattern=HOST_PATTERN),
]
MailboxName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
OneLine = Annotated[
    str, StringConstraints(strip_whitespace=True, max_length=200, pattern=r"^[^\r\n]*$")
]
Port = Annotated[int, Field(ge=1, le=65535)]
DailyCap = Annotated[int, Field(ge=1, le=10000)]
Password = Annotated[str, StringConstraints(min_length=1, max_length=500)]
Username = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=320, pattern=r"^\S+$")
]

_REQUIRED_ON_PATCH = (
    "name",
    "from_address",
    "smtp_host",
    "smtp_port",
    "smtp_security",
    "daily_cap",
    "is_default",
    "is_active",
)


class MailboxCreate(BaseModel):
    """A sending identity; ``smtp_password`` is write-only (stored encrypted, never shown)."""

    model_config = ConfigDict(extra="forbid")

    name: MailboxName
    from_address: EmailAddress
    from_name: OneLine | None = None
    reply_to: EmailAddress | None = None
    smtp_host: Hostname
    smtp_port: Port = 587
    smtp_security: SmtpSecurity = SmtpSecurity.STARTTLS
    smtp_username: Username | None = None
    smtp_password: Password | None = Field(default=None, repr=False)
    daily_cap: DailyCap | None = Field(
        default=None, description="Messages per UTC day; the platform's default when omitted."
    )
    is_default: bool = False
    is_active: bool = True
    imap_host: Hostname | None = None
    imap_port: Port | None = None
    imap_folder: OneLine | None = None


class MailboxPatch(BaseModel):
    """Fields to change; ``null`` clears an optional one (``smtp_password: null`` removes it)."""

    model_config = ConfigDict(extra="forbid")

    name: MailboxName | None = None
    from_address: EmailAddress | None = None
    from_name: OneLine | None = None
    reply_to: EmailAddress | None = None
    smtp_host: Hostname | None = None
    smtp_port: Port | None = None
    smtp_security: SmtpSecurity | None = None
    smtp_username: Username | None = None
    smtp_password: Password | None = Field(default=None, repr=False)
    daily_cap: DailyCap | None = None
    is_default: bool | None = None
    is_active: bool | None = None
    imap_host: Hostname | None = None
    imap_port: Port | None = None
    imap_folder: OneLine | None = None

    @model_validator(mode="after")
    def _required_fields_stay_set(self) -> MailboxPatch:
        cleared = [
            f for f in _REQUIRED_ON_PATCH if f in self.model_fields_set and getattr(self, f) is None
        ]
        if cleared:
            raise ValueError(f"cannot be null: {', '.join(cleared)}")
        return self

    def changes(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.model_fields_set}


class MailboxOut(BaseModel):
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

    @classmethod
    def of(cls, view: MailboxView) -> MailboxOut:
        return cls.model_validate(view, from_attributes=True)


class SendOut(BaseModel):
    id: uuid.UUID
    draft_id: uuid.UUID
    approval_item_id: uuid.UUID | None
    agent_id: uuid.UUID | None
    contact_id: uuid.UUID | None
    mailbox_id: uuid.UUID | None
    channel: str
    status: str
    to_address: str | None
    from_address: str | None
    message_id: str
    attempts: int
    last_error: str | None
    resolved_by: str | None
    not_before: datetime | None
    sent_at: datetime | None
    created_at: datetime
    updated_at: datetime

    @classmethod
    def of(cls, send: MessageSend) -> SendOut:
        return cls.model_validate(send, from_attributes=True)


class SendDetailOut(SendOut):
    """A send with the message it delivers and what the server said."""

    subject: str | None
    body: str
    draft_status: str
    phase: str | None
    server_response: str | None
    claimed_at: datetime | None

    @classmethod
    def of_detail(cls, detail: SendDetail) -> SendDetailOut:
        base = SendOut.of(detail.send).model_dump()
        return cls(
            **base,
            subject=detail.draft.subject,
            body=detail.draft.body,
            draft_status=detail.draft.status,
            phase=detail.send.phase,
            server_response=detail.send.server_response,
            claimed_at=detail.send.claimed_at,
        )


class SendPage(BaseModel):
    items: list[SendOut]
    total: int
    limit: int
    offset: int


class ConfirmBody(BaseModel):
    """What a person found when looking the send's Message-ID up in the mailbox."""

    model_config = ConfigDict(extra="forbid")

    delivered: bool
    note: str | None = Field(default=None, max_length=2000)
