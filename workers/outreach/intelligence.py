"""Account intelligence for a prompt: the facts enrichment stored on an account, with sources.

``accounts.enrichment`` is written by the enrichment agent; this reads it forgivingly. Lists
of facts, news, signals and the like become one item each (``fact``, ``kind``, ``source``),
and plain top-level values (``description``, ``funding_stage``) become one item per key.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["MAX_INTELLIGENCE", "account_intelligence"]

MAX_INTELLIGENCE = 8
_TEXT_KEYS = ("fact", "text", "summary", "title", "headline", "description", "name", "value")
_SOURCE_KEYS = ("source", "url", "source_url", "link", "provider")
_SKIPPED = frozenset(
    {"source", "sources", "provider", "updated_at", "enriched_at", "raw", "version", "errors"}
)
_MAX_TEXT = 300


def account_intelligence(enrichment: Mapping[str, Any] | None) -> list[dict[str, str]]:
    """Up to :data:`MAX_INTELLIGENCE` facts, each naming where enrichment found it."""
    if not isinstance(enrichment, Mapping):
        return []
    default_source = _source(enrichment) or "enrichment"
    items: list[dict[str, str]] = []
    for key, value in enrichment.items():
        if key in _SKIPPED:
            continue
        for kind, entry in _entries(str(key), value):
            item = _item(kind, entry, default_source)
            if item is not None and item not in items:
                items.append(item)
    return items[:MAX_INTELLIGENCE]


def _entries(key: str, value: Any) -> list[tuple[str, Any]]:
    """``(kind, entry)`` pairs: a list gives one per element, a mapping of named facts
    (``{"industry": {"value": ..., "source": ...}}``) one per name, anything else itself."""
    if isinstance(value, list):
        return [(key, entry) for entry in value]
    if (
        isinstance(value, Mapping)
        and value
        and all(isinstance(v, Mapping) and "value" in v for v in value.values())
    ):
        return [(str(name), fact) for name, fact in value.items()]
    return [(key, value)]


def _item(kind: str, entry: Any, default_source: str) -> dict[str, str] | None:
    if isinstance(entry, Mapping):
        text = next((entry[k] for k in _TEXT_KEYS if _usable(entry.get(k))), None)
        source = _source(entry) or default_source
    else:
        text, source = entry, default_source
    if not _usable(text):
        return None
    rendered = str(text).strip()[:_MAX_TEXT]
    named_value = isinstance(entry, Mapping) and "value" in entry and "field" in entry
    plain = isinstance(entry, Mapping) and not named_value
    fact = rendered if plain or kind.endswith("s") else _label(kind, rendered)
    return {"fact": fact, "kind": kind, "source": source}


def _label(kind: str, text: str) -> str:
    return f"{kind.replace('_', ' ').capitalize()}: {text}"


def _usable(value: Any) -> bool:
    if isinstance(value, bool) or value is None:
        return False
    return isinstance(value, str | int | float) and bool(str(value).strip())


def _source(entry: Mapping[str, Any]) -> str | None:
    for key in _SOURCE_KEYS:
        value = entry.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()[:_MAX_TEXT]
    return None
