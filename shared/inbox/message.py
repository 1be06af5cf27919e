"""An email read from an inbox, turned into an :class:`IncomingReply` to record.

Parsing never fails on a message: a header the parser cannot read counts as absent, a value
too long to store is dropped (ids, address) or cut (subject, body), NUL characters are removed,
and a body in an unknown charset is read as UTF-8 with replacement characters.
"""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage, Message
from email.parser import BytesParser
from email.utils import parseaddr, parsedate_to_datetime

from shared.replies import IncomingReply

__all__ = ["IMAP_SOURCE", "html_to_text", "incoming_reply"]

IMAP_SOURCE = "imap"

# The limits a reply posted to the API is held to (and the columns it is stored in).
_MAX_ID = 380
_MAX_ADDRESS = 320
_MAX_SUBJECT = 1000
_MAX_BODY = 100_000

_MESSAGE_ID = re.compile(r"<[^<>\s]+>")
_INVISIBLE = re.compile(r"(?is)<(script|style|head)\b.*?</\1\s*>|<!--.*?-->")
_LINE_BREAK = re.compile(r"(?i)<\s*(br|/p|/div|/li|/tr|/h[1-6]|/blockquote)\b[^>]*>")
_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"[ \t\r\f\v]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def incoming_reply(raw: bytes, *, now: datetime) -> IncomingReply:
    """The reply ``raw`` (an RFC 5322 message) carries; ``now`` stands in for a missing Date
    and caps one in the future."""
    message = BytesParser(policy=policy.default).parsebytes(raw)
    in_reply_to = _header(message, "In-Reply-To")
    if not _MESSAGE_ID.search(in_reply_to or ""):
        in_reply_to = _last_reference(_header(message, "References")) or in_reply_to
    subject = _header(message, "Subject")
    return IncomingReply(
        body=_storable(_body(message))[:_MAX_BODY],
        received_at=_received_at(_header(message, "Date"), now),
        from_address=_address(_header(message, "From")),
        in_reply_to=_bounded_id(in_reply_to),
        message_id=_bounded_id(_header(message, "Message-ID")),
        subject=subject[:_MAX_SUBJECT] if subject else None,
        source=IMAP_SOURCE,
    )


def html_to_text(markup: str) -> str:
    """Crude text of an HTML body: invisible parts and tags dropped, block ends as line
    breaks, entities decoded, runs of blank space collapsed."""
    text = _TAG.sub("", _LINE_BREAK.sub("\n", _INVISIBLE.sub("", markup)))
    lines = (_SPACES.sub(" ", line).strip() for line in html.unescape(text).split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def _header(message: Message, name: str) -> str | None:
    try:
        value = message.get(name)
        text = None if value is None else _storable(str(value)).strip()
    except (ValueError, TypeError, IndexError, AttributeError, LookupError):
        # The email package raises these on some malformed headers instead of noting a defect.
        return None
    return text or None


def _storable(text: str) -> str:
    # Postgres text cannot hold NUL characters.
    return text.replace("\x00", "")


def _last_reference(references: str | None) -> str | None:
    ids = _MESSAGE_ID.findall(references or "")
    return ids[-1] if ids else None


def _bounded_id(value: str | None) -> str | None:
    if value is None or len(value) > _MAX_ID:
        return None
    return value


def _address(value: str | None) -> str | None:
    address = parseaddr(value or "")[1].strip()
    if "@" not in address or len(address) > _MAX_ADDRESS:
        return None
    return address


def _received_at(value: str | None, now: datetime) -> datetime:
    if value is None:
        return now
    try:
        moment = parsedate_to_datetime(value)
    except (ValueError, TypeError, IndexError):
        return now
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return min(moment, now)


def _body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    if part is not None:
        return _text(part).strip()
    part = message.get_body(preferencelist=("html",))
    if part is not None:
        return html_to_text(_text(part))
    return ""


def _text(part: Message) -> str:
    if isinstance(part, EmailMessage):
        try:
            content = part.get_content()
        except LookupError:
            # A charset Python does not know: read the bytes as UTF-8 below.
            content = None
        if isinstance(content, str):
            return content
    payload = part.get_payload(decode=True)
    return payload.decode("utf-8", errors="replace") if isinstance(payload, bytes) else ""
