"""Whether a follow-up may still go out: not once the contact answered the sequence."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from shared.db.models import Draft, InboundReply, MessageSend
from shared.db.unit_of_work import UnitOfWork
from shared.lifecycles import ReplyCategory

__all__ = ["answered_sequence"]

# Replies that do not end a sequence: an auto-reply while away, a bounce (a hard one
# suppresses the address anyway).
_NOT_ANSWERS = (ReplyCategory.OUT_OF_OFFICE.value, ReplyCategory.BOUNCE.value)


def answered_sequence(uow: UnitOfWork, draft: Draft) -> bool:
    """True when ``draft`` is a follow-up and its contact replied after the sequence's first
    message went out (an unclassified reply counts: it may well be an answer)."""
    details = draft.personalization.get("followup") if draft.personalization else None
    original = details.get("original_draft_id") if isinstance(details, dict) else None
    if draft.contact_id is None or not isinstance(original, str):
        return False
    first_sent = uow.session.scalar(
        sa.select(MessageSend.sent_at).where(
            MessageSend.tenant_id == draft.tenant_id,
            MessageSend.draft_id == uuid.UUID(original),
        )
    )
    query = sa.select(sa.literal(True)).where(
        InboundReply.tenant_id == draft.tenant_id,
        InboundReply.contact_id == draft.contact_id,
        sa.or_(InboundReply.category.is_(None), InboundReply.category.not_in(_NOT_ANSWERS)),
    )
    if first_sent is not None:
        query = query.where(InboundReply.received_at >= first_sent)
    return uow.session.scalar(query.limit(1)) is not None
