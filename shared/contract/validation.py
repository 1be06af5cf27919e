"""Checking a message against a schema of the AsyncAPI document, as AsyncAPI tools read it
(JSON Schema draft-07, references resolved within the document)."""

from __future__ import annotations

from typing import Any

from jsonschema import Draft7Validator
from referencing import Registry
from referencing.jsonschema import DRAFT7

from shared.contract.components import COMPONENT_PREFIX
from shared.contract.event_schemas import format_checker

__all__ = ["component_validator"]

_DOCUMENT_URI = "urn:agentfleet:asyncapi-document"


def component_validator(document: dict[str, Any], component: str) -> Draft7Validator:
    """A validator for the component schema ``component`` of ``document``, formats asserted."""
    registry: Registry[Any] = Registry().with_resource(
        _DOCUMENT_URI, DRAFT7.create_resource(document)
    )
    return Draft7Validator(
        {"$ref": f"{_DOCUMENT_URI}{COMPONENT_PREFIX}{component}"},
        registry=registry,
        format_checker=format_checker(),
    )
