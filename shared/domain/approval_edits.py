"""A reviewer's edit of a draft at approval: checked against the draft, kept with its diff."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

from shared.db.models import Channel, Draft

__all__ = [
    "MAX_BODY_CHARS",
    "MAX_SUBJECT_CHARS",
    "ContentEdit",
    "EditInvalid",
    "edited_content",
]

MAX_BODY_CHARS = 20_000
MAX_SUBJECT_CHARS = 500


class EditInvalid(ValueError):
    """An edit the draft cannot take (a subject for a message without one, an empty body)."""


@dataclass(frozen=True)
class ContentEdit:
    """The reviewer's text; a field left None keeps the draft's own."""

    subject: str | None = None
    body: str | None = None


def edited_content(draft: Draft | None, edit: ContentEdit) -> dict[str, Any] | None:
    """The item's ``edited_content`` for ``edit`` (new text, the original, a unified diff and
    the changed fields), or None when the edit changes nothing (a plain approval).

    Raises :class:`EditInvalid` for an item without a draft or an edit the draft cannot take.
    """
    if draft is None:
        raise EditInvalid("only an approval item with a draft can be approved with edits")
    _check(draft, edit)
    subject = draft.subject if edit.subject is None else edit.subject
    body = draft.body if edit.body is None else edit.body
    changed = [
        name
        for name, new, old in (("subject", subject, draft.subject), ("body", body, draft.body))
        if new != old
    ]
    if not changed:
        return None
    email = draft.channel == Channel.EMAIL.value
    return {
        "subject": subject,
        "body": body,
        "original": {"subject": draft.subject, "body": draft.body},
        "diff": _diff(_as_text(draft.subject, draft.body, email), _as_text(subject, body, email)),
        "changed": changed,
    }


def _check(draft: Draft, edit: ContentEdit) -> None:
    if edit.subject is not None:
        if draft.channel != Channel.EMAIL.value:
            raise EditInvalid(f"a {draft.channel} message has no subject; edit only its body")
        if not edit.subject.strip() or len(edit.subject) > MAX_SUBJECT_CHARS:
            raise EditInvalid(f"the subject must be 1 to {MAX_SUBJECT_CHARS} characters")
    if edit.body is not None and (not edit.body.strip() or len(edit.body) > MAX_BODY_CHARS):
        raise EditInvalid(f"the body must be 1 to {MAX_BODY_CHARS} characters")


def _as_text(subject: str | None, body: str, email: bool) -> list[str]:
    lines = [f"Subject: {subject or ''}", ""] if email else []
    return lines + body.splitlines()


def _diff(original: list[str], edited: list[str]) -> str:
    return "\n".join(
        difflib.unified_diff(original, edited, fromfile="original", tofile="edited", lineterm="")
    )
