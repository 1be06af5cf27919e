"""What a message's text claims: numbers, dates and proper names, and what a context knows.

A grounding check compares the two: a claim the context does not know was made up. The rules
are deliberately simple, so a reviewer can predict them:

* numbers count, except meeting lengths ("15 minutes", "a 30-minute call");
* dates are ISO dates or month-name dates ("May 3", "May 3, 2026");
* a proper name is a capitalised word that does not start a sentence (after ". ", a line break,
  a colon, an opening bracket or quote), outside a short list of words every message may use.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

__all__ = [
    "ContextKnowledge",
    "dates_in",
    "known_date",
    "names_in",
    "numbers_in",
    "scalars",
    "without_dates",
    "word_key",
]

_MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)
_MONTH_ALT = "|".join(
    [m.capitalize() for m in _MONTHS] + ["Sept"] + [m[:3].capitalize() + r"\.?" for m in _MONTHS]
)
_MONTH_DATE = re.compile(rf"\b({_MONTH_ALT})\s+(\d{{1,2}})(?:st|nd|rd|th)?(?:,?\s+(\d{{4}}))?\b")
_DAY_MONTH_DATE = re.compile(rf"\b(\d{{1,2}})\s+({_MONTH_ALT})(?:,?\s+(\d{{4}}))?\b")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})")
_DURATION = re.compile(r"\b\d{1,3}(?:\s+|-)(?:minutes?|mins?|hours?|hrs?)\b", re.IGNORECASE)
_NUMBER = re.compile(r"(?<![A-Za-z\d])\d+(?:[.,]\d+)*")
_APOSTROPHE = "\u2019"
_WORD = re.compile(rf"[A-Za-z][A-Za-z0-9&'{_APOSTROPHE}-]*")
_SENTENCE_BREAK = set('.!?:;"(\n\u201c\u201d\u2018\u2014')
_COMMON = frozenset(
    {
        *("i", "hi", "hello", "hey", "dear", "best", "regards", "cheers", "thanks", "thank"),
        *("kind", "warm", "ps", "re", "fwd", "fw", "linkedin", "email", "ok"),
        *("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"),
        *("ai", "crm", "roi", "b2b", "b2c", "saas", "api", "ceo", "cto", "cfo", "coo", "cmo"),
        *("cio", "cro", "vp", "svp", "evp", "q1", "q2", "q3", "q4", *_MONTHS),
    }
)


@dataclass(frozen=True)
class ContextKnowledge:
    """Everything a context states, in the forms claims are compared in."""

    words: frozenset[str]
    numbers: frozenset[str]
    dates: frozenset[date]

    @classmethod
    def of(cls, values: Iterable[object]) -> ContextKnowledge:
        texts = [str(value) for value in values]
        joined = "\n".join(texts)
        return cls(
            words=frozenset(word_key(w) for w in _WORD.findall(joined)),
            numbers=frozenset(numbers_in(joined, keep_durations=True)),
            dates=frozenset(dates_in(joined)),
        )


def scalars(value: Any) -> Iterator[object]:
    """Every string, number and date inside nested dicts and lists."""
    if isinstance(value, Mapping):
        for item in value.values():
            yield from scalars(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from scalars(item)
    elif value is not None and not isinstance(value, bool):
        yield value


def numbers_in(text: str, *, keep_durations: bool = False) -> list[str]:
    """Numbers written in ``text``, normalised ("2,300" → "2300", "05" → "5")."""
    if not keep_durations:
        text = _DURATION.sub(" ", text)
    found = []
    for raw in _NUMBER.findall(text):
        compact = raw.replace(",", "")
        if compact.replace(".", "", 1).isdigit() and compact.count(".") <= 1:
            integral, _, fraction = compact.partition(".")
            fraction = fraction.rstrip("0")
            found.append(f"{int(integral)}.{fraction}" if fraction else str(int(integral)))
        else:
            found.extend(str(int(part)) for part in re.split(r"[.,]", raw) if part)
    return found


def dates_in(text: str) -> list[date]:
    """Calendar dates written in ``text``; a month-name date without a year gets year 1."""
    found: list[date] = []
    for year, month, day in _ISO_DATE.findall(text):
        found.extend(_date(int(year), int(month), int(day)))
    for month_name, day, year in _MONTH_DATE.findall(text):
        found.extend(_date(int(year or 1), _month(month_name), int(day)))
    for day, month_name, year in _DAY_MONTH_DATE.findall(text):
        found.extend(_date(int(year or 1), _month(month_name), int(day)))
    return found


def without_dates(text: str) -> str:
    """``text`` with its dates blanked out, so their digits are not read as numbers."""
    for pattern in (_ISO_DATE, _MONTH_DATE, _DAY_MONTH_DATE):
        text = pattern.sub(" ", text)
    return text


def names_in(text: str) -> list[str]:
    """Capitalised words that do not start a sentence: the candidates for proper names."""
    names = []
    for match in _WORD.finditer(text):
        word = match.group(0)
        if not word[0].isupper() or _starts_sentence(text, match.start()):
            continue
        normal = word_key(word)
        if len(normal) > 1 and normal not in _COMMON:
            names.append(word.rstrip("'" + _APOSTROPHE))
    return names


def known_date(day: date, known: frozenset[date]) -> bool:
    """Whether ``day`` is a date of the context (a date written without a year matches any)."""
    if day.year == 1:
        return any((d.month, d.day) == (day.month, day.day) for d in known)
    return day in known


def _starts_sentence(text: str, start: int) -> bool:
    before = text[:start].rstrip(" \t")
    return not before or before[-1] in _SENTENCE_BREAK


def word_key(word: str) -> str:
    """A word as it is compared: lower case, without a possessive or contraction."""
    word = word.lower().replace(_APOSTROPHE, "'")
    for suffix in ("'s", "'m", "'ve", "'ll", "'re", "'d"):
        if word.endswith(suffix):
            return word[: -len(suffix)]
    return word.rstrip("'-")


def _month(name: str) -> int:
    prefix = name.lower()[:3]
    return next(i for i, month in enumerate(_MONTHS, 1) if month.startswith(prefix))


def _date(year: int, month: int, day: int) -> list[date]:
    try:
        return [date(year, month, day)]
    except ValueError:
        return []
