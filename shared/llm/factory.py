"""Building the LLM client for a provider from the settings."""

from __future__ import annotations

import httpx

from shared.llm.anthropic import AnthropicMessagesClient
from shared.llm.base import HttpLlmClient
from shared.llm.gemini import GeminiGenerateContentClient
from shared.llm.interface import LlmClient
from shared.llm.openai import ChatCompletionsClient
from shared.ratelimit.gate import CallGate
from shared.settings import Settings

__all__ = ["LLM_PROVIDERS", "build_llm_client"]

_CLIENTS: dict[str, type[HttpLlmClient]] = {
    "openai": ChatCompletionsClient,
    "anthropic": AnthropicMessagesClient,
    "gemini": GeminiGenerateContentClient,
}
LLM_PROVIDERS = tuple(_CLIENTS)


def build_llm_client(
    settings: Settings,
    provider: str | None = None,
    *,
    api_key: str | None = None,
    model: str | None = None,
    gate: CallGate | None = None,
    credential_key: str = "platform",
    tenant_id: str | None = None,
    transport: httpx.BaseTransport | None = None,
) -> LlmClient:
    """A client for ``provider`` (default ``settings.llm_provider``).

    ``api_key`` defaults to the platform key; a tenant's own key comes with the
    ``credential_key`` its rate limits are kept under.
    """
    name = provider or settings.llm_provider
    try:
        client_class = _CLIENTS[name]
    except KeyError:
        raise ValueError(
            f"unknown LLM provider {name!r} (expected one of {', '.join(LLM_PROVIDERS)})"
        ) from None
    return client_class.from_settings(
        settings,
        api_key=api_key,
        model=model,
        gate=gate,
        credential_key=credential_key,
        tenant_id=tenant_id,
        transport=transport,
    )
