"""Gathering JSON Schemas into AsyncAPI components: references rewritten, clashes refused."""

from __future__ import annotations

import pytest

from shared.contract.components import ComponentSchemas, UnresolvedReference, component_ref

pytestmark = pytest.mark.unit

SHARED = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "urn:example:shared:1",
    "$defs": {"id": {"type": "string", "format": "uuid"}},
    "type": "object",
    "properties": {"id": {"$ref": "#/$defs/id"}},
}


def test_local_and_cross_document_references_become_component_references() -> None:
    schemas = ComponentSchemas()
    schemas.add_document("Shared", SHARED, defs_prefix="Shared.")
    schemas.add_document(
        "User",
        {
            "$id": "urn:example:user:1",
            "allOf": [{"$ref": "urn:example:shared:1"}],
            "properties": {"owner": {"$ref": "urn:example:shared:1#/$defs/id"}},
        },
        defs_prefix="User.",
    )
    schemas.add("List", {"type": "array", "items": component_ref("User")})

    rendered = schemas.render()

    assert list(rendered) == ["Shared", "Shared.id", "User", "List"]
    assert rendered["Shared"] == {
        "type": "object",
        "properties": {"id": {"$ref": "#/components/schemas/Shared.id"}},
    }
    assert rendered["User"]["allOf"] == [{"$ref": "#/components/schemas/Shared"}]
    assert rendered["User"]["properties"]["owner"] == {"$ref": "#/components/schemas/Shared.id"}
    assert rendered["List"]["items"] == {"$ref": "#/components/schemas/User"}


@pytest.mark.parametrize(
    "reference", ["#/$defs/missing", "urn:example:elsewhere:1", "#/components/schemas/Nobody"]
)
def test_a_reference_to_nothing_fails_the_build(reference: str) -> None:
    schemas = ComponentSchemas()
    schemas.add_document("Shared", SHARED, defs_prefix="Shared.")
    schemas.add("Broken", {"properties": {"x": {"$ref": reference}}})

    with pytest.raises(UnresolvedReference):
        schemas.render()


def test_two_different_schemas_under_one_name_are_refused() -> None:
    schemas = ComponentSchemas()
    schemas.add_document("Shared", SHARED, defs_prefix="Shared.")
    schemas.add_document("Again", {"$defs": {"id": {"type": "string"}}}, defs_prefix="Other.")
    schemas.add_document("Same", {"$defs": {"id": {"type": "string"}}}, defs_prefix="Other.")

    with pytest.raises(ValueError, match=r"'Shared\.id' added twice"):
        schemas.add_document("Clash", {"$defs": {"id": {"type": "integer"}}}, defs_prefix="Shared.")
