"""W3C trace context: trace ids taken from a ``traceparent`` header, carried on in messages.

The trace id of the work in hand lives in the log context (``trace_id``), so a request's id
reaches the tasks it creates, their messages, events and provider calls.
"""

from __future__ import annotations

import re
import secrets

import structlog

__all__ = ["current_trace_id", "parse_traceparent", "trace_id_from", "traceparent_for"]

_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}$")
_TRACE_ID = re.compile(r"^[0-9a-f]{32}$")
_NO_TRACE = "0" * 32
_NO_SPAN = "0" * 16


def parse_traceparent(value: str | None) -> str | None:
    """The trace id of a valid ``traceparent`` header, else None."""
    if not value:
        return None
    match = _TRACEPARENT.match(value.strip().lower())
    if match is None or match.group(1) == _NO_TRACE or match.group(2) == _NO_SPAN:
        return None
    return match.group(1)


def current_trace_id() -> str | None:
    """The trace id bound to the work in hand (an API request, a task), if any."""
    value = structlog.contextvars.get_contextvars().get("trace_id")
    return value if isinstance(value, str) and value else None


def trace_id_from(traceparent: str | None, explicit: str | None = None) -> str:
    """The header's trace id, else ``explicit``, else the bound one, else a new one."""
    return parse_traceparent(traceparent) or explicit or current_trace_id() or new_trace_id()


def new_trace_id() -> str:
    return secrets.token_hex(16)


def traceparent_for(trace_id: str) -> str | None:
    """A ``traceparent`` for a new span (a message, an event) of ``trace_id``; None when the
    id is not a W3C trace id (the envelope accepts any string a caller chose)."""
    if not _TRACE_ID.match(trace_id) or trace_id == _NO_TRACE:
        return None
    return f"00-{trace_id}-{secrets.token_hex(8)}-01"
