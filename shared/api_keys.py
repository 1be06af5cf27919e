"""API keys: generation, hashing and constant-time verification.

A key reads ``af_<prefix>_<secret>``. The prefix is public and finds the row; only the
SHA-256 of the secret is stored (the secret is 256 random bits, so a slow hash adds nothing).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

__all__ = ["GeneratedKey", "generate_api_key", "hash_secret", "split_api_key", "verify_secret"]

_SCHEME = "af"


@dataclass(frozen=True)
class GeneratedKey:
    prefix: str
    secret: str
    key_hash: str

    @property
    def token(self) -> str:
        return f"{_SCHEME}_{self.prefix}_{self.secret}"


def generate_api_key() -> GeneratedKey:
    prefix = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return GeneratedKey(prefix=prefix, secret=secret, key_hash=hash_secret(secret))


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_api_key(token: str) -> tuple[str, str] | None:
    """``(prefix, secret)`` of a well-formed key, else None."""
    scheme, _, rest = token.partition("_")
    prefix, _, secret = rest.partition("_")
    if scheme != _SCHEME or not prefix or not secret:
        return None
    return prefix, secret


def verify_secret(secret: str, key_hash: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), key_hash)
