"""The JSON Schema of an answer, rewritten into the dialect each provider accepts.

Providers constrain decoding with a subset of JSON Schema and refuse (400) keywords outside
it. The client still validates every answer against the caller's full schema, so a keyword
dropped here is checked after the answer arrives rather than lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["anthropic_schema", "gemini_schema"]

_MAX_DEPTH = 32

# Anthropic structured outputs: constraints it does not enforce are described instead
# (as its SDK's transform_schema does), so the model still sees them.
_ANTHROPIC_DESCRIBED = (
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "maxItems",
    "uniqueItems",
    "minProperties",
    "maxProperties",
)
_ANTHROPIC_FORMATS = frozenset(
    {"date-time", "time", "date", "duration", "email", "hostname", "uri", "ipv4", "ipv6", "uuid"}
)
_SCHEMA_MAPS = ("properties", "$defs", "definitions")
_SCHEMA_LISTS = ("anyOf", "allOf", "oneOf")

# Gemini responseSchema (an OpenAPI 3.0 Schema subset).
_GEMINI_COPIED = (
    "title",
    "description",
    "minItems",
    "maxItems",
    "minProperties",
    "maxProperties",
    "minLength",
    "maxLength",
    "pattern",
    "minimum",
    "maximum",
    "default",
    "example",
)
_GEMINI_FORMATS = {
    "string": frozenset({"date-time", "enum"}),
    "number": frozenset({"float", "double"}),
    "integer": frozenset({"int32", "int64"}),
}


def anthropic_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """``schema`` as Anthropic's ``output_config.format`` accepts it: closed objects, and
    unsupported constraints moved into the description."""
    converted: dict[str, Any] = _anthropic(schema, 0)
    return converted


def _anthropic(node: Any, depth: int) -> Any:
    if not isinstance(node, Mapping) or depth > _MAX_DEPTH:
        return node
    out: dict[str, Any] = {}
    described: list[str] = []
    for key, value in node.items():
        if key in _ANTHROPIC_DESCRIBED or (key == "minItems" and value not in (0, 1)):
            described.append(f"{key}: {value}")
        elif key == "format" and value not in _ANTHROPIC_FORMATS:
            described.append(f"format: {value}")
        elif key in _SCHEMA_MAPS and isinstance(value, Mapping):
            out[key] = {name: _anthropic(sub, depth + 1) for name, sub in value.items()}
        elif key in _SCHEMA_LISTS and isinstance(value, list):
            out["anyOf" if key == "oneOf" else key] = [_anthropic(s, depth + 1) for s in value]
        elif key == "items":
            out[key] = _anthropic(value, depth + 1)
        elif key != "additionalProperties":
            out[key] = value
    if node.get("type") == "object" or "properties" in node:
        out["additionalProperties"] = False
    if described:
        note = "{" + ", ".join(described) + "}"
        out["description"] = f"{out['description']}\n\n{note}" if out.get("description") else note
    return out


def gemini_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """``schema`` as Gemini's ``responseSchema``: references inlined, types upper-cased,
    nullable types flagged, keywords outside the OpenAPI subset dropped."""
    return _gemini(schema, schema, 0)


def _gemini(node: Any, root: Mapping[str, Any], depth: int) -> dict[str, Any]:
    if depth > _MAX_DEPTH:
        raise ValueError("schema is nested too deeply (recursive $ref?) for Gemini")
    node = _resolve(node, root)
    out: dict[str, Any] = {}
    branches = [_resolve(b, root) for b in node.get("anyOf") or node.get("oneOf") or []]
    for part in node.get("allOf") or []:
        node = _merged(node, _resolve(part, root))
    types = _types(node)
    nullable = "null" in types or any(_types(b) == ["null"] for b in branches)
    branches = [b for b in branches if _types(b) != ["null"]]
    kinds = [t for t in types if t != "null"]
    if len(branches) == 1 and not kinds:
        out = _gemini(branches[0], root, depth + 1)
    elif branches:
        out["anyOf"] = [_gemini(b, root, depth + 1) for b in branches]
    elif len(kinds) > 1:
        out["anyOf"] = [_gemini({**node, "type": kind}, root, depth + 1) for kind in kinds]
    else:
        # An unconstrained schema cannot be said in Gemini's subset; any string satisfies it.
        _gemini_typed(out, node, kinds[0] if kinds else "string", root, depth)
    if nullable:
        out["nullable"] = True
    return out


def _gemini_typed(
    out: dict[str, Any], node: Mapping[str, Any], kind: str, root: Mapping[str, Any], depth: int
) -> None:
    out["type"] = kind.upper()
    for key in _GEMINI_COPIED:
        if key in node:
            out[key] = node[key]
    values = [node["const"]] if "const" in node else node.get("enum")
    if kind == "string" and isinstance(values, list):
        out["enum"] = [str(value) for value in values if value is not None]
    form = node.get("format")
    if form in _GEMINI_FORMATS.get(kind, ()):
        out["format"] = form
    properties = node.get("properties")
    if kind == "object" and isinstance(properties, Mapping):
        out["properties"] = {k: _gemini(v, root, depth + 1) for k, v in properties.items()}
        # Gemini orders properties alphabetically unless told; keep the caller's order.
        out["propertyOrdering"] = list(properties)
        required = node.get("required")
        if isinstance(required, list):
            out["required"] = [name for name in required if name in properties]
    if kind == "array" and "items" in node:
        out["items"] = _gemini(node["items"], root, depth + 1)


def _types(node: Mapping[str, Any]) -> list[str]:
    declared = node.get("type")
    if isinstance(declared, str):
        return [declared.lower()]
    if isinstance(declared, list):
        return [t.lower() for t in declared if isinstance(t, str)]
    if "properties" in node:
        return ["object"]
    if "items" in node:
        return ["array"]
    if "const" in node or "enum" in node:
        return ["string"]
    return []


def _merged(base: Mapping[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    merged = {**base, **extra}
    merged["properties"] = {**base.get("properties", {}), **extra.get("properties", {})}
    merged["required"] = [*base.get("required", []), *extra.get("required", [])]
    merged.pop("allOf", None)
    if not merged["properties"]:
        del merged["properties"]
    return merged


def _resolve(node: Any, root: Mapping[str, Any]) -> dict[str, Any]:
    """``node`` with local ``$ref`` pointers (``#/$defs/...``) followed."""
    for _ in range(_MAX_DEPTH):
        if not isinstance(node, Mapping):
            return {}
        ref = node.get("$ref")
        if not isinstance(ref, str):
            return dict(node)
        if not ref.startswith("#"):
            raise ValueError(f"Gemini schemas cannot use external references ({ref})")
        target: Any = root
        for part in ref.lstrip("#").strip("/").split("/"):
            if part:
                key = part.replace("~1", "/").replace("~0", "~")
                target = target.get(key) if isinstance(target, Mapping) else None
        node = target
    raise ValueError("schema $ref chain is too long for Gemini")
