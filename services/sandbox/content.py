"""The assistant's answer to a request: deterministic, and valid for its schema.

A schema with ``subject`` and ``body`` gets a sales draft written from the prompt's context,
one whose ``category`` offers the reply categories gets the reply in the context classified;
any other schema gets each property filled by its type. The same request (and seed) always
gets the same answer. Faults can spoil an answer on purpose: cut-off JSON, JSON of the
wrong shape, or a well-formed draft that invents a fact, keeps a placeholder or runs long.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from collections.abc import Mapping, Sequence
from typing import Any, TypeGuard

from services.sandbox.config import DraftFault
from services.sandbox.context import context_from_messages
from services.sandbox.drafts import write_draft
from services.sandbox.followups import write_followup
from services.sandbox.replies import answer_reply, is_reply_schema
from services.sandbox.spoilers import spoil_draft

__all__ = [
    "JSON_REPLY",
    "TEXT_REPLY",
    "answer_json",
    "estimate_tokens",
    "malformed",
    "off_schema",
    "within_token_limit",
]

TEXT_REPLY = "Thanks for the details. Here is a short, friendly reply from the sandbox."
JSON_REPLY = json.dumps({"answer": TEXT_REPLY})
_MAX_DEPTH = 8
_SAMPLE_FORMATS = {
    "date": "2026-01-15",
    "date-time": "2026-01-15T09:00:00Z",
    "time": "09:00:00Z",
    "email": "someone@example.com",
    "uri": "https://example.com",
    "uuid": "00000000-0000-4000-8000-000000000000",
}


def answer_json(
    messages: Sequence[Any],
    schema: Mapping[str, Any],
    *,
    seed: int,
    spoil: DraftFault | None = None,
) -> str:
    """JSON text valid for ``schema``; a draft from the ``<context>`` block when the schema
    asks for ``subject`` and ``body`` (a follow-up when the context has ``followup.type``),
    spoiled by ``spoil`` if given, or the classification of the context's reply when it asks
    for a reply ``category``. ``messages`` have OpenAI's role/content shape."""
    context = context_from_messages(messages)
    rng = random.Random(_request_hash(messages, schema, seed))
    root = _resolve(schema, schema)
    properties = root.get("properties")
    values: dict[str, Any] = {}
    if isinstance(properties, Mapping) and {"subject", "body"} <= properties.keys():
        writer = write_followup if context.text("followup.type") else write_draft
        values = writer(context, rng).as_values()
        if spoil is not None:
            values = spoil_draft(values, context, spoil)
    elif is_reply_schema(properties):
        values = answer_reply(context)
    return json.dumps(_fill(root, schema, "answer", values, 0))


def malformed(text: str) -> str:
    """``text`` cut off half-way, as a broken stream would leave it: not valid JSON."""
    return text[: max(len(text) // 2, 1)] if len(text) > 1 else "{"


def off_schema(schema: Mapping[str, Any]) -> str:
    """A JSON object of the wrong shape for ``schema``: each property of the wrong type."""
    root = _resolve(schema, schema)
    properties = root.get("properties")
    if not isinstance(properties, Mapping) or not properties:
        return json.dumps({"sandbox_unexpected": True})
    return json.dumps({name: _wrong(_resolve(sub, schema)) for name, sub in properties.items()})


def within_token_limit(text: str, limit: object) -> tuple[str, bool]:
    """``text`` cut to ``limit`` tokens as a real model would stop, and whether it was cut."""
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        return text, False
    if estimate_tokens(text) <= limit:
        return text, False
    words = text.split(" ")
    return " ".join(words[: max(1, limit * 3 // 4)]), True


def estimate_tokens(text: str) -> int:
    """A deterministic token estimate: about four tokens for every three words."""
    return max(1, -(-len(text.split()) * 4 // 3))


def _wrong(schema: Mapping[str, Any]) -> Any:
    return 42 if _kind(schema, None) == "string" else "not what the schema asked for"


def _request_hash(messages: Sequence[Any], schema: Mapping[str, Any], seed: int) -> int:
    key = {"seed": seed, "messages": messages, "schema": schema}
    digest = hashlib.sha256(json.dumps(key, sort_keys=True, default=str).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def _resolve(schema: Any, root: Mapping[str, Any]) -> dict[str, Any]:
    """``schema`` with local ``$ref`` pointers (``#/$defs/...``) followed."""
    for _ in range(_MAX_DEPTH):
        if not isinstance(schema, Mapping):
            return {}
        ref = schema.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#"):
            return dict(schema)
        target: Any = root
        for part in ref.lstrip("#").strip("/").split("/"):
            if part:
                key = part.replace("~1", "/").replace("~0", "~")
                target = target.get(key) if isinstance(target, Mapping) else None
        schema = target
    return {}


def _fill(schema: Any, root: Mapping[str, Any], name: str, given: Any, depth: int) -> Any:
    """A value valid for ``schema``: ``given`` where it fits, a typed sample elsewhere."""
    schema = _resolve(schema, root)
    if "const" in schema:
        return schema["const"]
    enum = schema.get("enum")
    if isinstance(enum, list) and enum:
        return given if given in enum else enum[0]
    for combinator in ("anyOf", "oneOf", "allOf"):
        branches = schema.get(combinator)
        if isinstance(branches, list) and branches:
            return _fill(_pick_branch(branches, root, given), root, name, given, depth + 1)
    kind = _kind(schema, given)
    if depth > _MAX_DEPTH or kind == "null":
        return None
    if kind == "object":
        return _fill_object(schema, root, given, depth)
    if kind == "array":
        return _fill_array(schema, root, name, given, depth)
    if kind == "string":
        return given if isinstance(given, str) else _sample_string(name, schema)
    if kind == "boolean":
        return given if isinstance(given, bool) else True
    if _is_number(given) and (kind == "number" or isinstance(given, int)):
        return given
    return _sample_number(schema, integer=kind == "integer")


def _fill_object(schema: Mapping[str, Any], root: Mapping[str, Any], given: Any, depth: int) -> Any:
    given = given if isinstance(given, Mapping) else {}
    properties = schema.get("properties")
    if not isinstance(properties, Mapping):
        return dict(given)
    return {
        key: _fill(sub, root, key, given.get(key), depth + 1) for key, sub in properties.items()
    }


def _fill_array(
    schema: Mapping[str, Any], root: Mapping[str, Any], name: str, given: Any, depth: int
) -> list[Any]:
    items = schema.get("items", {})
    low = schema.get("minItems", 0)
    high = schema.get("maxItems")
    if isinstance(given, list) and len(given) >= low:
        kept = given if high is None else given[:high]
        return [_fill(items, root, name, item, depth + 1) for item in kept]
    count = max(low, 1) if high is None else min(max(low, 1), high)
    return [_fill(items, root, name, None, depth + 1) for _ in range(count)]


def _pick_branch(branches: list[Any], root: Mapping[str, Any], given: Any) -> Any:
    """The first branch whose type fits ``given``, else the first that is not ``null``."""
    resolved = [_resolve(branch, root) for branch in branches]
    for branch in resolved:
        if given is not None and _kind(branch, given) == _kind({}, given):
            return branch
    return next((b for b in resolved if b.get("type") != "null"), resolved[0])


def _kind(schema: Mapping[str, Any], given: Any) -> str:
    declared = schema.get("type")
    if isinstance(declared, str):
        return declared
    types = [t for t in declared if isinstance(t, str)] if isinstance(declared, list) else []
    natural = _natural_kind(given)
    if natural in types:
        return natural
    if types:
        return next((t for t in types if t != "null"), types[0])
    if "properties" in schema:
        return "object"
    if "items" in schema:
        return "array"
    return natural if given is not None else "string"


def _natural_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, list):
        return "array"
    return "null" if value is None else "string"


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _sample_string(name: str, schema: Mapping[str, Any]) -> str:
    text = _SAMPLE_FORMATS.get(str(schema.get("format")), f"Sample {name.replace('_', ' ')}")
    min_length = schema.get("minLength", 0)
    max_length = schema.get("maxLength")
    if isinstance(min_length, int) and len(text) < min_length:
        text = text.ljust(min_length, ".")
    if isinstance(max_length, int):
        text = text[:max_length]
    return text


def _sample_number(schema: Mapping[str, Any], *, integer: bool) -> int | float:
    step = 1 if integer else 0.5
    low = _bound(schema, "minimum", "exclusiveMinimum", step)
    high = _bound(schema, "maximum", "exclusiveMaximum", -step)
    if low is not None and high is not None:
        value = (low + high) / 2
    elif low is not None:
        value = low
    elif high is not None:
        value = min(high, 0)
    else:
        value = 0
    return math.ceil(value) if integer else float(value)


def _bound(schema: Mapping[str, Any], inclusive: str, exclusive: str, step: float) -> float | None:
    value = schema.get(exclusive)
    if _is_number(value):
        return float(value) + step
    value = schema.get(inclusive)
    return float(value) if _is_number(value) else None
