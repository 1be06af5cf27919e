"""Summarising reviewers' recent rejections and edits of an agent's drafts into guidance lines.

Pure and deterministic: the same decisions always give the same lines, so a prompt built from
them can be reproduced. Only patterns seen in at least two decisions become guidance (a single
rejection reason is kept last, as reviewers wrote it), and at most ``MAX_LINES`` short lines
are kept, the most telling first.
"""

from __future__ import annotations

import re
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.guidance.phrases import repeated_phrases

__all__ = [
    "MAX_LINES",
    "MAX_LINE_CHARS",
    "DraftText",
    "Edit",
    "Guidance",
    "Review",
    "edit_from_content",
    "summarise_reviews",
]

MAX_LINES = 6
MAX_LINE_CHARS = 200
MIN_REPEATS = 2
"""Decisions a pattern must appear in before it becomes guidance."""
LENGTH_CHANGE_THRESHOLD = 0.15
"""Average relative change of body length below which edits are not called a trend."""
_QUOTE_CHARS = 80
_EXAMPLE_CHARS = 45
_MAX_REASON_LINES = 3
_MAX_PHRASE_LINES = 2

_WORD = re.compile(r"[\w']+")


@dataclass(frozen=True)
class DraftText:
    subject: str | None
    body: str


@dataclass(frozen=True)
class Edit:
    """A draft as the agent wrote it and as the reviewer sent it on."""

    original: DraftText
    edited: DraftText


@dataclass(frozen=True)
class Review:
    """One reviewer decision on an agent's draft: a rejection with its reason, or an edit."""

    item_id: uuid.UUID
    decided_at: datetime
    rejection_reason: str | None = None
    edit: Edit | None = None

    @property
    def is_feedback(self) -> bool:
        """A rejection with a reason or an edit: the decisions guidance is drawn from."""
        return self.edit is not None or bool(_normal(self.rejection_reason or ""))


@dataclass(frozen=True)
class Guidance:
    """The lines for the agent's prompts and the decisions they were drawn from."""

    lines: list[str]
    rejections: int
    edits: int
    item_ids: list[uuid.UUID]
    since: datetime | None
    """When the oldest decision counted was made (the clearing time when none counted)."""

    def based_on(self) -> dict[str, Any]:
        return {
            "rejections": self.rejections,
            "edits": self.edits,
            "since": self.since.isoformat() if self.since else None,
            "item_ids": [str(item_id) for item_id in self.item_ids],
        }


def summarise_reviews(
    reviews: Iterable[Review], *, since: datetime | None, window: int
) -> Guidance:
    """Guidance from the newest ``window`` rejections (with a reason) and edits made after
    ``since`` (the last time the agent's guidance was cleared)."""
    recent = sorted(
        (r for r in reviews if r.is_feedback and (since is None or r.decided_at > since)),
        key=lambda r: (r.decided_at, str(r.item_id)),
        reverse=True,
    )[:window]
    reasons = [r.rejection_reason for r in recent if r.edit is None and r.rejection_reason]
    edits = [r.edit for r in recent if r.edit is not None]
    repeated, single = _reason_lines(reasons)
    lines = [
        *repeated[:_MAX_REASON_LINES],
        *_length_line(edits),
        *_subject_line(edits),
        *_phrase_lines(edits, removed=True),
        *_phrase_lines(edits, removed=False),
        *single,
    ]
    return Guidance(
        lines=[_clip(line, MAX_LINE_CHARS) for line in lines[:MAX_LINES]],
        rejections=len(reasons),
        edits=len(edits),
        item_ids=[r.item_id for r in recent],
        since=recent[-1].decided_at if recent else since,
    )


def edit_from_content(
    edited_content: Mapping[str, Any] | None, item_content: Mapping[str, Any]
) -> Edit | None:
    """The edit recorded on an approval item; its ``original`` falls back to the item content
    (what the agent wrote). None when the edit holds no body."""
    if not edited_content:
        return None
    original = edited_content.get("original")
    before = original if isinstance(original, Mapping) else item_content
    edited_body = edited_content.get("body")
    if not isinstance(edited_body, str):
        return None
    return Edit(
        original=DraftText(_text_or_none(before.get("subject")), str(before.get("body") or "")),
        edited=DraftText(_text_or_none(edited_content.get("subject")), edited_body),
    )


def _reason_lines(reasons: Sequence[str]) -> tuple[list[str], list[str]]:
    """Lines for reasons given at least twice (most frequent first) and for those given once
    (newest first). Reasons match whatever their case and punctuation; each is quoted in its
    most frequent wording, the newest on a tie."""
    wordings: dict[str, Counter[str]] = {}
    for reason in reasons:  # newest first: Counter keeps first-seen order for ties
        wording = _clip(_tidy(reason).rstrip(".!?,;: "), _QUOTE_CHARS)
        wordings.setdefault(_normal(reason), Counter())[wording] += 1
    order = {key: index for index, key in enumerate(wordings)}
    counts = {key: sum(seen.values()) for key, seen in wordings.items()}
    ranked = sorted(wordings, key=lambda key: (-counts[key], order[key]))
    quoted = {key: wordings[key].most_common(1)[0][0] for key in ranked}
    repeated = [
        f"Reviewers rejected {counts[key]} recent drafts as '{quoted[key]}'"
        for key in ranked
        if counts[key] >= MIN_REPEATS
    ]
    single = [
        f"A reviewer rejected a recent draft as '{quoted[key]}'"
        for key in ranked
        if counts[key] < MIN_REPEATS
    ]
    return repeated, single


def _length_line(edits: Sequence[Edit]) -> list[str]:
    """A line when reviewers consistently shortened (or lengthened) the body."""
    sizes = [
        (_word_count(e.original.body), _word_count(e.edited.body))
        for e in edits
        if _normal(e.original.body) != _normal(e.edited.body) and _word_count(e.original.body)
    ]
    if len(sizes) < MIN_REPEATS:
        return []
    changes = [(after - before) / before for before, after in sizes]
    mean = sum(changes) / len(changes)
    agreeing = sum(1 for change in changes if change * mean > 0)
    consistent = agreeing >= MIN_REPEATS and 3 * agreeing >= 2 * len(changes)
    if abs(mean) <= LENGTH_CHANGE_THRESHOLD or not consistent:
        return []
    before = round(sum(b for b, _ in sizes) / len(sizes))
    after = round(sum(a for _, a in sizes) / len(sizes))
    percent = round(abs(mean) * 100)
    if mean < 0:
        return [
            f"Reviewers shortened the body by {percent}% on average in {agreeing} of "
            f"{len(sizes)} edits (about {before} to {_words_label(after)}); aim for about "
            f"{_words_label(after)}"
        ]
    return [
        f"Reviewers lengthened the body by {percent}% on average in {agreeing} of "
        f"{len(sizes)} edits (about {before} to {_words_label(after)}); give about "
        f"{_words_label(after)} of substance"
    ]


def _subject_line(edits: Sequence[Edit]) -> list[str]:
    """A line when reviewers rewrote the subject in most edits of drafts that had one."""
    with_subject = [e for e in edits if e.original.subject and e.original.subject.strip()]
    rewritten = [
        e for e in with_subject if _normal(e.original.subject) != _normal(e.edited.subject)
    ]
    if len(rewritten) < MIN_REPEATS or 2 * len(rewritten) <= len(with_subject):
        return []
    before = round(sum(_word_count(e.original.subject) for e in rewritten) / len(rewritten))
    after = round(sum(_word_count(e.edited.subject) for e in rewritten) / len(rewritten))
    lead = f"Subject lines were rewritten in {len(rewritten)} of {len(with_subject)} edits"
    change = f"(about {before} to {_words_label(after)})"
    if after < before:
        return [
            f"{lead} {change}; keep them short and specific, about {_words_label(max(after, 1))}"
        ]
    if after > before:
        return [f"{lead} {change}; make them more specific"]
    latest = rewritten[0]
    return [
        f"{lead}; e.g. '{_clip(_tidy(latest.original.subject), _EXAMPLE_CHARS)}' became "
        f"'{_clip(_tidy(latest.edited.subject), _EXAMPLE_CHARS)}'"
    ]


def _phrase_lines(edits: Sequence[Edit], *, removed: bool) -> list[str]:
    """Phrases reviewers removed from (or added to) the body in at least two drafts."""
    pairs = [
        (e.original.body, e.edited.body) if removed else (e.edited.body, e.original.body)
        for e in edits
    ]
    found = repeated_phrases(pairs, min_drafts=MIN_REPEATS, limit=_MAX_PHRASE_LINES)
    if removed:
        return [
            f"Avoid: '{_clip(phrase, _QUOTE_CHARS)}' (reviewers removed it from {count} drafts)"
            for phrase, count in found
        ]
    return [
        f"Reviewers often add: '{_clip(phrase, _QUOTE_CHARS)}' (in {count} edits)"
        for phrase, count in found
    ]


def _normal(text: str | None) -> str:
    return " ".join(_WORD.findall((text or "").lower()))


def _word_count(text: str | None) -> int:
    return len((text or "").split())


def _words_label(count: int) -> str:
    return f"{count} word" if count == 1 else f"{count} words"


def _tidy(text: str | None) -> str:
    return " ".join((text or "").split())


def _clip(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, at a word boundary when there is one."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if " " in cut:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:") + "…"


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None
