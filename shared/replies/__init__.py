"""Inbound replies: recorded and matched to their contact and send, classified by the
follow-up agent, and what each category means for follow-ups, metrics and suppression."""

from shared.replies.followups import StoppedFollowup, resume_at, stop_pending_followups
from shared.replies.matching import ReplyMatch, match_reply, normalize_message_id
from shared.replies.outcomes import ClassificationOutcome, apply_classification, lock_reply
from shared.replies.recording import (
    IncomingReply,
    RecordedReply,
    UnmatchedReply,
    record_reply,
    reply_dedup_key,
)
from shared.replies.sequence import answered_sequence
from shared.replies.tasks import CLASSIFY_TASK_TYPE, classification_task_id, queue_classification
from shared.replies.verdict import RESPONSE_CATEGORIES, ReplyVerdict, parse_return_date

__all__ = [
    "CLASSIFY_TASK_TYPE",
    "RESPONSE_CATEGORIES",
    "ClassificationOutcome",
    "IncomingReply",
    "RecordedReply",
    "ReplyMatch",
    "ReplyVerdict",
    "StoppedFollowup",
    "UnmatchedReply",
    "answered_sequence",
    "apply_classification",
    "classification_task_id",
    "lock_reply",
    "match_reply",
    "normalize_message_id",
    "parse_return_date",
    "queue_classification",
    "record_reply",
    "reply_dedup_key",
    "resume_at",
    "stop_pending_followups",
]
