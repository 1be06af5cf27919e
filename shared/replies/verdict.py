"""What a reply was classified as: the category and the details its effects depend on."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from shared.lifecycles import ReplyCategory

__all__ = ["RESPONSE_CATEGORIES", "BounceType", "ReplyVerdict", "parse_return_date"]

BounceType = Literal["hard", "soft"]

RESPONSE_CATEGORIES = frozenset(
    {ReplyCategory.INTERESTED, ReplyCategory.NOT_NOW, ReplyCategory.UNSUBSCRIBE}
)
"""Replies written by the contact: they count towards the agent's response rate."""


def parse_return_date(value: object) -> date | None:
    """The date of an ISO date or date-time string (``2026-12-03``, ``2026-12-03T08:00Z``);
    None for anything else."""
    if not isinstance(value, str) or len(value.strip()) < 10:
        return None
    try:
        return date.fromisoformat(value.strip()[:10])
    except ValueError:
        return None


@dataclass(frozen=True)
class ReplyVerdict:
    category: ReplyCategory
    confidence: float
    out_of_office_until: date | None
    bounce_type: BounceType | None
    summary: str

    @property
    def is_hard_bounce(self) -> bool:
        """A bounce the model could not call soft is treated as permanent: resending to a
        dead address hurts the mailbox's reputation more than a missed follow-up."""
        return self.category is ReplyCategory.BOUNCE and self.bounce_type != "soft"

    @classmethod
    def from_answer(cls, data: Mapping[str, Any]) -> ReplyVerdict:
        """The verdict in a model's answer (already checked against the classification schema)."""
        category = ReplyCategory(str(data["category"]))
        raw_confidence = data.get("confidence")
        confidence = (
            float(raw_confidence)
            if isinstance(raw_confidence, int | float) and not isinstance(raw_confidence, bool)
            else 0.0
        )
        bounce = data.get("bounce_type")
        return cls(
            category=category,
            confidence=min(max(confidence, 0.0), 1.0),
            out_of_office_until=(
                parse_return_date(data.get("out_of_office_until"))
                if category is ReplyCategory.OUT_OF_OFFICE
                else None
            ),
            bounce_type=(
                bounce if category is ReplyCategory.BOUNCE and bounce in ("hard", "soft") else None
            ),
            summary=str(data.get("summary") or "")[:1000],
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "category": self.category.value,
            "confidence": self.confidence,
            "out_of_office_until": (
                self.out_of_office_until.isoformat() if self.out_of_office_until else None
            ),
            "bounce_type": self.bounce_type,
            "summary": self.summary,
        }
