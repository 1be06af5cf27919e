"""Per-credential limits: the settings, unless a tenant's own key carries limits of its own."""

from __future__ import annotations

import pytest

from shared.ratelimit import Limit, LimitBook, limits_from_settings
from shared.settings import Settings

pytestmark = pytest.mark.unit

SETTINGS = Settings(
    encryption_key="unit-test-key-0123456789abcdef0123456789",
    openai_requests_per_minute=500,
    openai_tokens_per_minute=200_000,
)


def test_unregistered_credentials_get_the_configured_limits() -> None:
    book = LimitBook(SETTINGS)
    assert book.limits("openai", "platform") == [
        Limit("requests", 500, 60.0),
        Limit("tokens", 200_000, 60.0),
    ]


def test_a_credential_with_its_own_limits_overrides_only_those() -> None:
    book = LimitBook(SETTINGS)
    book.register("credential:abc", {"requests_per_minute": 60})
    assert book.limits("openai", "credential:abc") == [
        Limit("requests", 60, 60.0),
        Limit("tokens", 200_000, 60.0),
    ]
    assert book.limits("openai", "credential:other")[0].capacity == 500


def test_apollo_endpoint_keys_share_their_credentials_limits() -> None:
    book = LimitBook(SETTINGS)
    book.register("credential:apollo1", {"requests_per_hour": 100})
    hourly = book.limits("apollo", "credential:apollo1/mixed_people/api_search")[1]
    assert hourly == Limit("requests_hour", 100, 3600.0)


def test_unknown_override_names_and_providers() -> None:
    assert limits_from_settings(SETTINGS, "gemini", {"bogus": 5}) == limits_from_settings(
        SETTINGS, "gemini"
    )
    with pytest.raises(ValueError, match="no rate limits known"):
        limits_from_settings(SETTINGS, "myspace")
