"""Sending approved drafts: one send per draft (``send:{draft_id}``), delivered by the sender."""

from shared.sending.queue import SENDER_QUEUE, SendRequest, queue_send, send_dedup_key
from shared.sending.unsubscribe import UnsubscribeToken, sign_unsubscribe, verify_unsubscribe

__all__ = [
    "SENDER_QUEUE",
    "SendRequest",
    "UnsubscribeToken",
    "queue_send",
    "send_dedup_key",
    "sign_unsubscribe",
    "verify_unsubscribe",
]
