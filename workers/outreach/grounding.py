"""The grounding check: a draft may say only what its context says, in full and in length.

:func:`check_grounding` lists every problem of a drafted answer (empty when it is fit for the
approval queue): a ``facts_used`` entry whose source is not in the context or does not hold
what the fact says; a number, date or proper name in the subject or body that appears nowhere
in the context; a placeholder left unfilled; a body over the word limit.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from workers.outreach.claims import (
    ContextKnowledge,
    dates_in,
    known_date,
    names_in,
    numbers_in,
    scalars,
    without_dates,
    word_key,
)

__all__ = ["INSTRUCTION_KEYS", "check_grounding", "context_value", "placeholders_in"]

INSTRUCTION_KEYS = frozenset({"channel", "tone", "max_words"})
"""Top-level context keys that instruct the writer; they are not facts about anyone."""

_PLACEHOLDERS = (
    re.compile(r"\[[^\[\]\n]{1,60}\]"),
    re.compile(r"\{\{[^{}\n]{0,60}\}\}"),
    re.compile(r"\{[A-Za-z_][A-Za-z0-9_ .-]{0,60}\}"),
    re.compile(r"<[A-Za-z][A-Za-z0-9 _.-]{0,60}>"),
    re.compile(r"\b(?:XXX+|TBD|TODO)\b"),
)
_MISSING = object()


def check_grounding(
    answer: Mapping[str, Any], context: Mapping[str, Any], *, max_words: int
) -> list[str]:
    """Every reason ``answer`` (subject, body, facts_used) may not be shown as written."""
    facts = {key: value for key, value in context.items() if key not in INSTRUCTION_KEYS}
    known = ContextKnowledge.of(scalars(facts))
    subject = str(answer.get("subject") or "")
    body = str(answer.get("body") or "")
    problems = [*_facts_problems(answer.get("facts_used"), facts)]
    for part, text in (("subject", subject), ("body", body)):
        problems.extend(_claims_problems(part, text, known))
        problems.extend(
            f"the {part} has a placeholder {found!r}" for found in placeholders_in(text)
        )
    words = len(body.split())
    if words > max_words:
        problems.append(f"the body has {words} words, over the limit of {max_words}")
    return list(dict.fromkeys(problems))


def placeholders_in(text: str) -> list[str]:
    """Unfilled template slots: ``[Name]``, ``{{first_name}}``, ``{company}``, ``<Company>``."""
    return [match.group(0) for pattern in _PLACEHOLDERS for match in pattern.finditer(text)]


def context_value(context: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted path (``contact.title``, ``history.0.subject``), or None."""
    value: Any = context
    for part in path.strip().removeprefix("context.").split("."):
        if isinstance(value, Mapping) and part in value:
            value = value[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return _MISSING
    return value


def _facts_problems(facts_used: object, context: Mapping[str, Any]) -> list[str]:
    if facts_used is None:
        return []
    if not isinstance(facts_used, list):
        return ["facts_used is not a list"]
    problems = []
    for entry in facts_used:
        if not isinstance(entry, Mapping):
            problems.append(f"facts_used has an entry that is not an object: {entry!r}")
            continue
        fact, source = str(entry.get("fact") or ""), str(entry.get("source") or "")
        value = context_value(context, source) if source else _MISSING
        if value is _MISSING or value is None:
            problems.append(f"the fact {fact!r} cites {source!r}, which is not in the context")
        elif not _states(fact, value):
            problems.append(f"the fact {fact!r} does not match {source} in the context")
    return problems


def _states(fact: str, value: Any) -> bool:
    """Whether ``fact`` says what ``value`` (one context value, or a part of the context) holds."""
    if isinstance(value, Mapping | list):
        return any(_states(fact, item) for item in scalars(value))
    said, held = _normal(fact), _normal(str(value))
    if not held or not said:
        return False
    if held in said or said in held:
        return True
    label, colon, claim = fact.partition(":")
    if colon and len(label.split()) <= 4 and _normal(claim) and _normal(claim) in held:
        return True
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value).removesuffix(".0") in numbers_in(fact, keep_durations=True)
    held_dates = dates_in(str(value))
    return bool(held_dates) and any(
        known_date(day, frozenset(held_dates)) for day in dates_in(fact)
    )


def _claims_problems(part: str, text: str, known: ContextKnowledge) -> list[str]:
    problems = [
        f"the {part} mentions the date {day.isoformat().removeprefix('0001-')}, "
        "which is not in the context"
        for day in dates_in(text)
        if not known_date(day, known.dates)
    ]
    rest = without_dates(text)
    problems.extend(
        f"the {part} mentions the number {number}, which is not in the context"
        for number in numbers_in(rest)
        if number not in known.numbers
    )
    problems.extend(
        f"the {part} names {name!r}, which is not in the context"
        for name in names_in(rest)
        if word_key(name) not in known.words
    )
    return problems


def _normal(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())
