"""How the ops commands answer: aligned tables or JSON on stdout, progress and errors on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import Any, TextIO

__all__ = ["CommandError", "Progress", "format_age", "print_json", "print_table"]


class CommandError(Exception):
    """A command that cannot do what was asked: its message goes to stderr, its code is the
    exit status (2 for input the command refuses, 1 for anything else)."""

    def __init__(self, message: str, *, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def print_json(value: Any) -> None:
    """One JSON document on stdout (UUIDs, timestamps and decimals as strings)."""
    print(json.dumps(value, indent=2, default=str))


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Columns padded to their widest cell; None shows as ``-``."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [len(header) for header in headers]
    for row in cells:
        widths = [max(width, len(cell)) for width, cell in zip(widths, row, strict=True)]
    for row in [list(headers), *cells]:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


def _cell(value: object) -> str:
    return "-" if value is None else str(value)


def format_age(seconds: float | None) -> str:
    """A short age: ``45s``, ``12m``, ``3h05m``, ``2d04h``."""
    if seconds is None:
        return "-"
    whole = max(0, int(seconds))
    if whole < 60:
        return f"{whole}s"
    minutes, hours, days = whole // 60, whole // 3600, whole // 86400
    if hours == 0:
        return f"{minutes}m"
    if days == 0:
        return f"{hours}h{minutes % 60:02d}m"
    return f"{days}d{hours % 24:02d}h"


class Progress:
    """``replayed 40/200`` on stderr: rewritten in place on a terminal, else a line about every
    tenth of the way, so logs stay short."""

    def __init__(self, verb: str, total: int, stream: TextIO | None = None) -> None:
        self.verb = verb
        self.total = total
        self.done = 0
        self._stream = stream or sys.stderr
        self._live = self._stream.isatty()
        self._every = max(1, total // 10)

    def step(self, count: int = 1) -> None:
        self.done += count
        if self._live:
            print(f"\r{self._line()}", end="", file=self._stream, flush=True)
        elif self.done % self._every == 0 or self.done == self.total:
            print(self._line(), file=self._stream, flush=True)

    def finish(self) -> None:
        if self._live and self.done:
            print(file=self._stream, flush=True)

    def _line(self) -> str:
        return f"{self.verb} {self.done}/{self.total}"
