"""Reading a provider's answer: the JSON body, and the model's JSON text checked against the
requested schema. Shared by every provider client."""

from __future__ import annotations

import json
from typing import Any

import httpx
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from shared.llm.errors import ProviderResponseInvalid, error_reason

__all__ = ["decode_body", "token_count", "validate_answer"]


def decode_body(response: httpx.Response, *, provider: str) -> dict[str, Any]:
    """The JSON object of a successful response, or :class:`ProviderResponseInvalid`."""
    try:
        body = response.json()
    except ValueError:
        raise ProviderResponseInvalid(
            provider=provider, status=response.status_code, reason="response body is not JSON"
        ) from None
    if not isinstance(body, dict):
        raise ProviderResponseInvalid(
            provider=provider,
            status=response.status_code,
            reason="response body is not a JSON object",
        )
    return body


def validate_answer(
    text: str,
    *,
    provider: str,
    status: int,
    schema_name: str,
    validator: Draft202012Validator,
) -> dict[str, Any]:
    """The JSON object in the model's ``text``, valid against the requested schema."""

    def invalid(reason: str) -> ProviderResponseInvalid:
        return ProviderResponseInvalid(provider=provider, status=status, reason=reason)

    try:
        data = json.loads(text)
    except ValueError:
        raise invalid("message content is not valid JSON") from None
    if not isinstance(data, dict):
        raise invalid("message content is not a JSON object")
    error = best_match(validator.iter_errors(data))
    if error is not None:
        where = "/".join(str(part) for part in error.absolute_path) or "(root)"
        reason = f"answer does not match schema {schema_name!r} at {where}: {error.message}"
        raise invalid(error_reason(None, reason, secret=""))
    return data


def token_count(value: object) -> int:
    """A usage counter from a provider body; anything but a non-negative int counts as 0."""
    if isinstance(value, bool) or not isinstance(value, int):
        return 0
    return max(value, 0)
