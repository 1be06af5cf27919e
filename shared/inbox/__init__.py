"""Replies read from mailboxes' IMAP inboxes: polled by the scheduler, each new message
recorded as an inbound reply (``source="imap"``)."""

from shared.inbox.imap import ImapAccess, ImapFailure, ImapInbox, ImapOptions
from shared.inbox.message import IMAP_SOURCE, html_to_text, incoming_reply
from shared.inbox.poller import DEFAULT_FOLDER, MailboxPoll, imap_access, poll_mailbox
from shared.inbox.state import PollState, polled_at_text

__all__ = [
    "DEFAULT_FOLDER",
    "IMAP_SOURCE",
    "ImapAccess",
    "ImapFailure",
    "ImapInbox",
    "ImapOptions",
    "MailboxPoll",
    "PollState",
    "html_to_text",
    "imap_access",
    "incoming_reply",
    "poll_mailbox",
    "polled_at_text",
]
