"""Approved drafts with their queued sends, mailboxes pointing at a test SMTP server, and the
sender's tools, for the sender's tests."""

from __future__ import annotations

import ssl
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from services.demo.seed import SeededTarget
from shared.credentials import credential_cipher
from shared.db.base import utcnow
from shared.db.database import Database
from shared.db.models import ApprovalItem, Draft, Mailbox, MessageSend, SmtpSecurity, Task
from shared.lifecycles import ApprovalStatus, DraftStatus, TaskStatus
from shared.sending.mailboxes import encrypt_mailbox_password
from shared.sending.queue import SendRequest, queue_send
from shared.settings import Settings
from tests.support.smtp import RecordingSmtpServer
from workers.sender.tools import SenderTools

SUBJECT = "Meeting at SupplyChain Live?"
BODY = "Hi Maya,\n.a line that starts with a dot\nSee you in Amsterdam."


@dataclass(frozen=True)
class QueuedSend:
    send_id: uuid.UUID
    draft_id: uuid.UUID
    task_id: uuid.UUID
    request: SendRequest
    message_id: str


def make_mailbox(
    db: Database,
    settings: Settings,
    tenant_id: uuid.UUID,
    smtp: RecordingSmtpServer | None,
    *,
    daily_cap: int = 30,
    security: SmtpSecurity = SmtpSecurity.NONE,
    credentials: tuple[str, str] | None = None,
    port: int | None = None,
) -> uuid.UUID:
    """The tenant's default mailbox, sending through ``smtp`` (or to ``port`` on loopback)."""
    mailbox = Mailbox(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        name=f"sales-{uuid.uuid4().hex[:6]}",
        from_address="sales@agentfleet.example",
        from_name="Agentfleet Sales",
        reply_to="replies@agentfleet.example",
        smtp_host="127.0.0.1",
        smtp_port=port if port is not None else (smtp.port if smtp else 25),
        smtp_security=security.value,
        daily_cap=daily_cap,
        is_default=True,
    )
    if credentials is not None:
        mailbox.smtp_username = credentials[0]
        mailbox.encrypted_password, mailbox.encryption_key_id = encrypt_mailbox_password(
            credential_cipher(settings),
            tenant_id=tenant_id,
            name=mailbox.name,
            password=credentials[1],
        )
    with db.unit_of_work(tenant_id) as uow:
        uow.session.add(mailbox)
        uow.commit()
    return mailbox.id


def approve_and_queue(
    db: Database,
    tenant_id: uuid.UUID,
    target: SeededTarget,
    *,
    agent_id: uuid.UUID | None = None,
    agent_type: str = "outreach",
    channel: str = "email",
    personalization: dict[str, Any] | None = None,
    platform_from: str | None = None,
) -> QueuedSend:
    """An approved draft for ``target`` and its send, queued as approving it queues it."""
    task_id, draft_id = uuid.uuid4(), uuid.uuid4()
    with db.unit_of_work(tenant_id) as uow:
        uow.session.add(
            Task(
                id=task_id,
                tenant_id=tenant_id,
                agent_id=agent_id,
                agent_type=agent_type,
                task_type="draft_outreach" if agent_type == "outreach" else "draft_followup",
                status=TaskStatus.COMPLETED,
                input={"contact_id": str(target.contact_id)},
            )
        )
        uow.session.flush()
        draft = Draft(
            id=draft_id,
            tenant_id=tenant_id,
            task_id=task_id,
            step="draft",
            agent_id=agent_id,
            contact_id=target.contact_id,
            channel=channel,
            subject=SUBJECT if channel == "email" else None,
            body=BODY,
            personalization=personalization or {},
            status=DraftStatus.APPROVED,
        )
        uow.session.add(draft)
        uow.session.flush()
        item = ApprovalItem(
            id=uuid.uuid4(),
            tenant_id=tenant_id,
            agent_id=agent_id,
            agent_type=agent_type,
            task_id=task_id,
            draft_id=draft_id,
            item_type="email_draft" if channel == "email" else "linkedin_draft",
            priority="high",
            title=f"Message to {target.contact_name}",
            content={"subject": SUBJECT, "body": BODY},
            status=ApprovalStatus.APPROVED,
            reviewed_at=utcnow(),
        )
        uow.session.add(item)
        uow.session.flush()
        send = queue_send(uow, draft, item, platform_from=platform_from)
        uow.commit()
        return QueuedSend(
            send.id,
            draft_id,
            task_id,
            SendRequest(tenant_id, send.id, send.dedup_key),
            send.message_id,
        )


def send_row(db: Database, tenant_id: uuid.UUID, send_id: uuid.UUID) -> MessageSend:
    with db.unit_of_work(tenant_id) as uow:
        send = uow.session.get(MessageSend, send_id)
        assert send is not None
        return send


def set_send_state(db: Database, tenant_id: uuid.UUID, send_id: uuid.UUID, **values: Any) -> None:
    """Put a send in a state a dead sender could have left it in."""
    with db.unit_of_work(tenant_id) as uow:
        uow.session.execute(
            sa.update(MessageSend).where(MessageSend.id == send_id).values(**values)
        )
        uow.commit()


def sender_tools(
    settings: Settings,
    *,
    tls_context: ssl.SSLContext | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> SenderTools:
    return SenderTools(
        settings=settings,
        cipher=credential_cipher(settings),
        tls_context=tls_context or ssl.create_default_context(),
        clock=clock,
    )
