"""Checking a provider key with the cheapest call that proves it works.

LLM keys answer a tiny JSON request; Apollo keys read the usage stats (0 credits). A rejection
(wrong key, no access, no quota) is a verdict; a provider that cannot be reached is not.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from shared.apollo import ApolloClient
from shared.db.models import Provider
from shared.errors import ProviderRejected
from shared.llm import ChatMessage, build_llm_client
from shared.settings import Settings

__all__ = ["KeyVerdict", "verify_key"]

_PROBE_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "required": ["ok"],
    "properties": {"ok": {"type": "boolean"}},
}
_PROBE = [ChatMessage("user", 'Answer with the JSON object {"ok": true}.')]


@dataclass(frozen=True)
class KeyVerdict:
    valid: bool
    reason: str | None = None


def verify_key(
    settings: Settings,
    provider: Provider,
    api_key: str,
    *,
    transport: httpx.BaseTransport | None = None,
) -> KeyVerdict:
    """Whether ``api_key`` works for ``provider``; transient failures propagate."""
    try:
        if provider is Provider.APOLLO:
            with ApolloClient.from_settings(
                settings, api_key=api_key, transport=transport
            ) as apollo:
                apollo.api_usage_stats()
        else:
            llm = build_llm_client(settings, provider.value, api_key=api_key, transport=transport)
            try:
                llm.complete_json(_PROBE, schema_name="probe", schema=_PROBE_SCHEMA, max_tokens=20)
            finally:
                llm.close()
    except ProviderRejected as exc:
        return KeyVerdict(valid=False, reason=str(exc))
    return KeyVerdict(valid=True)
