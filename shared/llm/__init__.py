"""LLM provider access: one interface (:class:`LlmClient`) for JSON-schema answers from
OpenAI chat completions, Anthropic messages and Gemini generateContent."""

from shared.llm.anthropic import AnthropicMessagesClient
from shared.llm.base import HttpLlmClient
from shared.llm.errors import (
    ProviderRateLimited,
    ProviderRequestRejected,
    ProviderResponseInvalid,
    ProviderUnavailable,
)
from shared.llm.factory import LLM_PROVIDERS, build_llm_client
from shared.llm.gemini import GeminiGenerateContentClient
from shared.llm.interface import LlmClient
from shared.llm.messages import ChatMessage, LlmResult
from shared.llm.openai import ChatCompletionsClient
from shared.llm.retry_after import (
    anthropic_suggested_delay_s,
    parse_duration_s,
    parse_google_duration_s,
    parse_retry_after_s,
    parse_rfc3339_delay_s,
    suggested_delay_s,
)
from shared.llm.schemas import anthropic_schema, gemini_schema

__all__ = [
    "LLM_PROVIDERS",
    "AnthropicMessagesClient",
    "ChatCompletionsClient",
    "ChatMessage",
    "GeminiGenerateContentClient",
    "HttpLlmClient",
    "LlmClient",
    "LlmResult",
    "ProviderRateLimited",
    "ProviderRequestRejected",
    "ProviderResponseInvalid",
    "ProviderUnavailable",
    "anthropic_schema",
    "anthropic_suggested_delay_s",
    "build_llm_client",
    "gemini_schema",
    "parse_duration_s",
    "parse_google_duration_s",
    "parse_retry_after_s",
    "parse_rfc3339_delay_s",
    "suggested_delay_s",
]
