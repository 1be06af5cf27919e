"""JSON Schemas gathered into an AsyncAPI document's ``components/schemas``.

Each source schema keeps its content; its ``$defs`` become components of their own and every
``$ref`` (local, or by another document's ``$id``) is rewritten to the component it names. The
copies lose ``$schema``, ``$id`` and ``$defs``, so they read the same under AsyncAPI's Schema
Object (a JSON Schema draft-07 superset). A reference to nothing fails the build.
"""

from __future__ import annotations

import copy
from typing import Any

__all__ = ["COMPONENT_PREFIX", "ComponentSchemas", "UnresolvedReference", "component_ref"]

COMPONENT_PREFIX = "#/components/schemas/"
_DROPPED = ("$schema", "$id", "$defs")


class UnresolvedReference(ValueError):
    """A ``$ref`` that names no schema gathered into the document."""


def component_ref(name: str) -> dict[str, str]:
    """A reference to the component schema ``name``."""
    return {"$ref": f"{COMPONENT_PREFIX}{name}"}


class ComponentSchemas:
    """Collects schemas by component name and renders them with their references rewritten."""

    def __init__(self) -> None:
        self._sources: dict[str, tuple[str, dict[str, Any]]] = {}
        self._by_uri: dict[str, str] = {}

    def add_document(self, name: str, schema: dict[str, Any], *, defs_prefix: str) -> str:
        """Add ``schema`` as ``name`` and each of its ``$defs`` as ``defs_prefix + key``.

        A definition already added under the same name must be identical (shared models,
        such as a pydantic model used by several inputs, are added once).
        """
        base = str(schema.get("$id") or f"urn:agentfleet:component:{name}")
        self._add(name, base, schema)
        self._by_uri[base] = name
        for key, definition in schema.get("$defs", {}).items():
            component = f"{defs_prefix}{key}"
            self._by_uri[f"{base}#/$defs/{key}"] = component
            self._add(component, base, definition)
        return name

    def add(self, name: str, schema: dict[str, Any]) -> str:
        """Add a schema built for the document; its references must name components."""
        self._add(name, f"urn:agentfleet:component:{name}", schema)
        return name

    def render(self) -> dict[str, Any]:
        """Every component, references rewritten, in the order they were added."""
        return {name: self._rewrite(schema, base) for name, (base, schema) in self._sources.items()}

    def _add(self, name: str, base: str, schema: dict[str, Any]) -> None:
        if name in self._sources:
            if self._sources[name][1] != schema:
                raise ValueError(f"component schema {name!r} added twice with different content")
            return
        self._sources[name] = (base, copy.deepcopy(schema))

    def _rewrite(self, node: Any, base: str) -> Any:
        if isinstance(node, list):
            return [self._rewrite(item, base) for item in node]
        if not isinstance(node, dict):
            return node
        rewritten: dict[str, Any] = {}
        for key, value in node.items():
            if key in _DROPPED:
                continue
            if key == "$ref" and isinstance(value, str):
                rewritten[key] = self._target(value, base)
            else:
                rewritten[key] = self._rewrite(value, base)
        return rewritten

    def _target(self, reference: str, base: str) -> str:
        if reference.startswith(COMPONENT_PREFIX):
            if reference.removeprefix(COMPONENT_PREFIX) not in self._sources:
                raise UnresolvedReference(f"{reference} names no component schema")
            return reference
        absolute = f"{base}{reference}" if reference.startswith("#") else reference
        if absolute.endswith("#"):
            absolute = absolute[:-1]
        name = self._by_uri.get(absolute)
        if name is None:
            raise UnresolvedReference(f"{reference} (in {base}) names no gathered schema")
        return f"{COMPONENT_PREFIX}{name}"
