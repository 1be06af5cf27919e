"""The email a send delivers: the approved draft with the headers that make it traceable and
let the recipient unsubscribe in one click (RFC 8058)."""

from __future__ import annotations

from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from shared.db.models import Draft, MessageSend
from shared.sending.mailboxes import SendingMailbox
from shared.sending.unsubscribe import unsubscribe_url
from shared.settings import Settings

__all__ = ["SEND_KEY_HEADER", "build_message", "wire_bytes"]

SEND_KEY_HEADER = "X-Agentfleet-Send-Key"

# Header lines up to RFC 5322's hard limit: folding at 78 would turn a long unsubscribe URL
# into RFC 2047 encoded words, which mail clients do not read as a link.
_WIRE_POLICY = SMTP.clone(max_line_length=998)


def build_message(
    settings: Settings,
    send: MessageSend,
    draft: Draft,
    mailbox: SendingMailbox,
    *,
    recipient_name: str | None,
    now: datetime,
) -> EmailMessage:
    """The message for ``send``: its fixed Message-ID and send key, List-Unsubscribe (one-click
    URL and mailto) and the draft's subject and body."""
    if send.to_address is None:
        raise ValueError(f"send {send.id} has no recipient address")
    message = EmailMessage(policy=SMTP)
    message["From"] = Address(display_name=mailbox.from_name or "", addr_spec=mailbox.from_address)
    message["To"] = Address(display_name=recipient_name or "", addr_spec=send.to_address)
    if mailbox.reply_to:
        message["Reply-To"] = mailbox.reply_to
    message["Subject"] = draft.subject or ""
    message["Date"] = format_datetime(now)
    message["Message-ID"] = send.message_id
    message[SEND_KEY_HEADER] = send.dedup_key
    link = unsubscribe_url(settings, send.tenant_id, send.to_address)
    message["List-Unsubscribe"] = f"<{link}>, <mailto:{mailbox.from_address}?subject=unsubscribe>"
    message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(draft.body)
    return message


def wire_bytes(message: EmailMessage) -> bytes:
    """The message as sent over SMTP (CRLF line ends, headers unfolded up to 998 characters)."""
    return message.as_bytes(policy=_WIRE_POLICY)
