"""Deterministic reply classification, standing in for a model: keyword rules over the reply
in the prompt's ``<context>`` block (``reply.subject``, ``reply.body``, ``reply.from``).

Bounces are recognised first (a delivery report quotes the original message), then opt-outs,
absence notices, polite refusals and interest; anything else reads as "not now". A return
date is read from an absence notice (``2026-12-03``, ``December 3``, ``3rd Dec 2026``), the
year completed from ``reply.received_at``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from services.sandbox.context import PromptContext

__all__ = [
    "REPLY_CATEGORIES",
    "ReplyReading",
    "answer_reply",
    "find_return_date",
    "is_reply_schema",
    "read_reply",
]

REPLY_CATEGORIES = frozenset({"interested", "not_now", "unsubscribe", "out_of_office", "bounce"})

_BOUNCE = (
    "mailer-daemon",
    "postmaster",
    "delivery failed",
    "delivery has failed",
    "delivery status notification",
    "undeliverable",
    "undelivered mail",
    "could not be delivered",
    "address not found",
    "returned mail",
)
_SOFT_BOUNCE = ("mailbox full", "mailbox is full", "over quota", "temporarily", "try again later")
_UNSUBSCRIBE = (
    "unsubscribe",
    "remove me",
    "take me off",
    "stop emailing",
    "stop contacting",
    "do not contact",
    "opt out",
    "opt-out",
)
_OUT_OF_OFFICE = (
    "out of office",
    "out of the office",
    "on leave",
    "away until",
    "on vacation",
    "on holiday",
    "automatic reply",
    "auto-reply",
    "autoreply",
)
_NOT_NOW = (
    "not now",
    "next quarter",
    "not a priority",
    "not interested",
    "no thanks",
    "no thank you",
    "next year",
    "not the right time",
    "bad time",
)
_INTERESTED = (
    "interested",
    "let's talk",
    "lets talk",
    "sounds good",
    "book",
    "call",
    "meeting",
    "demo",
)
_SUMMARIES = {
    "interested": "The contact wants to talk.",
    "not_now": "The contact is not ready to talk now.",
    "unsubscribe": "The contact asks to receive no more messages.",
    "out_of_office": "An automatic out-of-office notice.",
    "bounce": "The mail server reports the message was not delivered.",
}
_STATUS_CODE = re.compile(r"\b([45])\.\d{1,3}\.\d{1,3}\b")
_MONTHS = {
    "jan": 1,
    "feb": 2,
    "mar": 3,
    "apr": 4,
    "may": 5,
    "jun": 6,
    "jul": 7,
    "aug": 8,
    "sep": 9,
    "oct": 10,
    "nov": 11,
    "dec": 12,
}
_MONTH = (
    r"(jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DAY = r"(\d{1,2})(?:st|nd|rd|th)?"
_YEAR = r"(?:,?\s+(\d{4}))?"
_ISO_DATE = re.compile(r"(?<!\d)(\d{4})-(\d{2})-(\d{2})(?!\d)")
_MONTH_FIRST = re.compile(rf"\b{_MONTH}\s+{_DAY}{_YEAR}\b")
_DAY_FIRST = re.compile(rf"\b{_DAY}\s+(?:of\s+)?{_MONTH}{_YEAR}\b")


@dataclass(frozen=True)
class ReplyReading:
    category: str
    confidence: float
    out_of_office_until: date | None
    bounce_type: str | None
    summary: str

    def as_values(self) -> dict[str, Any]:
        return {
            "category": self.category,
            "confidence": self.confidence,
            "out_of_office_until": (
                self.out_of_office_until.isoformat() if self.out_of_office_until else None
            ),
            "bounce_type": self.bounce_type,
            "summary": self.summary,
        }


def is_reply_schema(properties: object) -> bool:
    """True for an answer schema whose ``category`` offers the reply categories."""
    if not isinstance(properties, Mapping):
        return False
    category = properties.get("category")
    enum = category.get("enum") if isinstance(category, Mapping) else None
    return isinstance(enum, list) and set(enum) >= REPLY_CATEGORIES


def answer_reply(ctx: PromptContext) -> dict[str, Any]:
    """The classification of the reply in the context, as the answer's values."""
    received = _received_date(ctx.text("reply.received_at"))
    return read_reply(
        ctx.text("reply.subject") or "",
        ctx.text("reply.body") or "",
        ctx.text("reply.from") or "",
        received,
    ).as_values()


def read_reply(subject: str, body: str, sender: str, received: date) -> ReplyReading:
    """The category of a reply by the first rule its text matches."""
    text = _normalised(f"{sender}\n{subject}\n{body}")
    if _mentions(text, _BOUNCE):
        return ReplyReading("bounce", 0.95, None, _bounce_type(text), _SUMMARIES["bounce"])
    if _mentions(text, _UNSUBSCRIBE):
        return ReplyReading("unsubscribe", 0.95, None, None, _SUMMARIES["unsubscribe"])
    if _mentions(text, _OUT_OF_OFFICE):
        back = find_return_date(f"{subject}\n{body}", received)
        return ReplyReading("out_of_office", 0.9, back, None, _SUMMARIES["out_of_office"])
    if _mentions(text, _NOT_NOW):
        return ReplyReading("not_now", 0.85, None, None, _SUMMARIES["not_now"])
    if _mentions(text, _INTERESTED):
        return ReplyReading("interested", 0.85, None, None, _SUMMARIES["interested"])
    return ReplyReading("not_now", 0.5, None, None, _SUMMARIES["not_now"])


def find_return_date(text: str, received: date) -> date | None:
    """The first date written in ``text``; one without a year is the next such day on or
    after ``received``."""
    lowered = text.lower()
    found: list[tuple[int, date]] = []
    for match in _ISO_DATE.finditer(lowered):
        day = _date(int(match.group(1)), int(match.group(2)), int(match.group(3)))
        if day is not None:
            found.append((match.start(), day))
    for pattern, month_group, day_group in ((_MONTH_FIRST, 1, 2), (_DAY_FIRST, 2, 1)):
        for match in pattern.finditer(lowered):
            month = _MONTHS[match.group(month_group)[:3]]
            day_of_month = int(match.group(day_group))
            year = match.group(3)
            day = (
                _date(int(year), month, day_of_month)
                if year
                else _next_date(month, day_of_month, received)
            )
            if day is not None:
                found.append((match.start(), day))
    return min(found)[1] if found else None


def _received_date(raw: str | None) -> date:
    if raw:
        try:
            return date.fromisoformat(raw[:10])
        except ValueError:
            pass
    return datetime.now(UTC).date()


def _normalised(text: str) -> str:
    return text.lower().replace("\u2019", "'")


def _mentions(text: str, phrases: tuple[str, ...]) -> bool:
    return any(re.search(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])", text) for phrase in phrases)


def _bounce_type(text: str) -> str:
    code = _STATUS_CODE.search(text)
    if code is not None:
        return "hard" if code.group(1) == "5" else "soft"
    return "soft" if _mentions(text, _SOFT_BOUNCE) else "hard"


def _date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _next_date(month: int, day: int, received: date) -> date | None:
    this_year = _date(received.year, month, day)
    if this_year is not None and this_year >= received:
        return this_year
    return _date(received.year + 1, month, day)
