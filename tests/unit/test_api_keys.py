"""API keys: only hashes are stored, and verification is exact."""

from __future__ import annotations

import pytest

from shared.api_keys import generate_api_key, split_api_key, verify_secret

pytestmark = pytest.mark.unit


def test_generated_key_round_trips_and_stores_no_secret() -> None:
    key = generate_api_key()
    parts = split_api_key(key.token)
    assert parts == (key.prefix, key.secret)
    assert key.secret not in key.key_hash
    assert verify_secret(key.secret, key.key_hash)
    assert not verify_secret(key.secret + "x", key.key_hash)


@pytest.mark.parametrize("token", ["", "af", "af_", "af_prefix", "xx_prefix_secret", "af__secret"])
def test_malformed_tokens_are_rejected(token: str) -> None:
    assert split_api_key(token) is None


def test_keys_are_unique() -> None:
    assert len({generate_api_key().token for _ in range(200)}) == 200
