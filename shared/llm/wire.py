"""The provider-neutral pieces of a wire format: where a provider is reached, what a client
sends there and what it reads back."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr

from shared.settings import Settings

__all__ = ["WireAnswer", "WireRequest", "provider_endpoint"]


@dataclass(frozen=True)
class WireRequest:
    """Where to POST and what, in the provider's wire format."""

    path: str
    body: dict[str, Any]


@dataclass(frozen=True)
class WireAnswer:
    """The model's JSON text and the identifiers the provider gave the answer."""

    text: str
    model: str | None
    request_id: str | None


def provider_endpoint(settings: Settings, provider: str) -> tuple[str, SecretStr]:
    """The base URL and platform API key configured for ``provider``."""
    endpoints = {
        "openai": (settings.openai_base_url, settings.openai_api_key),
        "anthropic": (settings.anthropic_base_url, settings.anthropic_api_key),
        "gemini": (settings.gemini_base_url, settings.gemini_api_key),
    }
    try:
        return endpoints[provider]
    except KeyError:
        raise ValueError(f"unknown LLM provider {provider!r}") from None
