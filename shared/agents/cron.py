"""A small validator for 5-field cron expressions (minute hour day-of-month month weekday)."""

from __future__ import annotations

import re

__all__ = ["validate_cron"]

_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
_WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

# (name, lowest, highest, names mapped to numbers)
_FIELDS: list[tuple[str, int, int, dict[str, int]]] = [
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, {name: i + 1 for i, name in enumerate(_MONTHS)}),
    ("day of week", 0, 7, {name: i for i, name in enumerate(_WEEKDAYS)}),
]

_ITEM = re.compile(r"^(?P<range>\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:/(?P<step>\d+))?$")


def _value(token: str, name: str, low: int, high: int, names: dict[str, int]) -> int:
    if token in names:
        return names[token]
    if not token.isdigit():
        raise ValueError(f"{name}: {token!r} is not a number")
    number = int(token)
    if not low <= number <= high:
        raise ValueError(f"{name}: {number} is outside {low}-{high}")
    return number


def _check_field(text: str, name: str, low: int, high: int, names: dict[str, int]) -> None:
    for item in text.split(","):
        match = _ITEM.match(item)
        if match is None:
            raise ValueError(f"{name}: {item!r} is not a valid cron item")
        step = match.group("step")
        if step is not None and int(step) == 0:
            raise ValueError(f"{name}: step must be at least 1")
        span = match.group("range")
        if span == "*":
            continue
        first, _, last = span.partition("-")
        start = _value(first, name, low, high, names)
        if last and _value(last, name, low, high, names) < start:
            raise ValueError(f"{name}: range {span!r} runs backwards")


def validate_cron(expression: str) -> str:
    """Return ``expression`` normalised (single spaces, lower case); ``ValueError`` if invalid."""
    parts = expression.strip().lower().split()
    if len(parts) != len(_FIELDS):
        raise ValueError(
            f"expected 5 fields (minute hour day-of-month month day-of-week), got {len(parts)}"
        )
    for text, (name, low, high, names) in zip(parts, _FIELDS, strict=True):
        _check_field(text, name, low, high, names)
    return " ".join(parts)
