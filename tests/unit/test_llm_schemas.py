"""Answer schemas rewritten into each provider's dialect."""

from __future__ import annotations

from typing import Any

import pytest

from shared.llm import anthropic_schema, gemini_schema
from workers.outreach.prompt import DRAFT_SCHEMA

pytestmark = pytest.mark.unit

SCORE: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "required": ["score", "tier", "owner", "facts"],
    "properties": {
        "score": {"type": "integer", "minimum": 0, "maximum": 100},
        "tier": {"enum": ["hot", "warm", "cold"]},
        "kind": {"const": "account"},
        "owner": {"type": ["string", "null"], "format": "email"},
        "facts": {"type": "array", "minItems": 2, "items": {"$ref": "#/$defs/Fact"}},
        "next": {"anyOf": [{"$ref": "#/$defs/Fact"}, {"type": "null"}]},
    },
    "$defs": {
        "Fact": {
            "type": "object",
            "additionalProperties": False,
            "required": ["fact"],
            "properties": {"fact": {"type": "string", "description": "one fact"}},
        }
    },
}
FACT_GEMINI = {
    "type": "OBJECT",
    "properties": {"fact": {"type": "STRING", "description": "one fact"}},
    "propertyOrdering": ["fact"],
    "required": ["fact"],
}


def test_gemini_schema_is_the_openapi_subset() -> None:
    converted = gemini_schema(SCORE)

    assert converted == {
        "type": "OBJECT",
        "properties": {
            "score": {"type": "INTEGER", "minimum": 0, "maximum": 100},
            "tier": {"type": "STRING", "enum": ["hot", "warm", "cold"]},
            "kind": {"type": "STRING", "enum": ["account"]},
            "owner": {"type": "STRING", "nullable": True},
            "facts": {"type": "ARRAY", "minItems": 2, "items": FACT_GEMINI},
            "next": {**FACT_GEMINI, "nullable": True},
        },
        "propertyOrdering": ["score", "tier", "kind", "owner", "facts", "next"],
        "required": ["score", "tier", "owner", "facts"],
    }


def test_gemini_schema_merges_all_of_and_refuses_recursion() -> None:
    merged = gemini_schema(
        {
            "allOf": [
                {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
                {"properties": {"b": {"type": "boolean"}}, "required": ["b"]},
            ]
        }
    )
    assert merged["properties"] == {"a": {"type": "STRING"}, "b": {"type": "BOOLEAN"}}
    assert merged["required"] == ["a", "b"]
    recursive = {"type": "object", "properties": {"child": {"$ref": "#"}}}
    with pytest.raises(ValueError, match="recursive"):
        gemini_schema(recursive)


def test_anthropic_schema_describes_what_structured_outputs_refuse() -> None:
    converted = anthropic_schema(SCORE)

    score = converted["properties"]["score"]
    assert score == {"type": "integer", "description": "{minimum: 0, maximum: 100}"}
    assert converted["properties"]["owner"] == {
        "type": ["string", "null"],
        "format": "email",
    }
    facts = converted["properties"]["facts"]
    assert "minItems" not in facts
    assert facts["description"] == "{minItems: 2}"
    assert facts["items"] == {"$ref": "#/$defs/Fact"}
    assert converted["$defs"]["Fact"]["additionalProperties"] is False
    assert converted["additionalProperties"] is False


def test_anthropic_schema_closes_every_object() -> None:
    open_object = {
        "type": "object",
        "properties": {"inner": {"type": "object", "properties": {"x": {"type": "string"}}}},
    }
    converted = anthropic_schema(open_object)
    assert converted["additionalProperties"] is False
    assert converted["properties"]["inner"]["additionalProperties"] is False


def test_the_outreach_schema_converts_for_both() -> None:
    body = anthropic_schema(DRAFT_SCHEMA)["properties"]["body"]
    assert body == {"type": "string", "description": "{minLength: 1}"}
    assert gemini_schema(DRAFT_SCHEMA)["properties"]["body"] == {"type": "STRING", "minLength": 1}
