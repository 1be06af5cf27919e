"""Trace ids: taken from a W3C ``traceparent`` header when present, else made up."""

from __future__ import annotations

import re
import secrets

__all__ = ["trace_id_from"]

_TRACEPARENT = re.compile(r"^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$")


def trace_id_from(traceparent: str | None, explicit: str | None = None) -> str:
    if traceparent:
        match = _TRACEPARENT.match(traceparent.strip().lower())
        if match and match.group(1) != "0" * 32:
            return match.group(1)
    return explicit or secrets.token_hex(16)
