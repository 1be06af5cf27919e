"""Trace ids for the API: see :mod:`shared.tracing`."""

from __future__ import annotations

from shared.tracing import trace_id_from

__all__ = ["trace_id_from"]
