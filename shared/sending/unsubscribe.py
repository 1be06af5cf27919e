"""Signed one-click unsubscribe tokens (RFC 8058): they name the tenant and the address.

The token is ``base64url(payload).base64url(hmac)``; nothing is stored, and a token cannot be
altered to unsubscribe another address or another tenant's recipient.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from dataclasses import dataclass

from shared.settings import Settings

__all__ = ["UnsubscribeToken", "sign_unsubscribe", "unsubscribe_url", "verify_unsubscribe"]


@dataclass(frozen=True)
class UnsubscribeToken:
    tenant_id: uuid.UUID
    email: str


def _key(settings: Settings) -> bytes:
    if settings.unsubscribe_secret is not None:
        return settings.unsubscribe_secret.get_secret_value().encode()
    material = settings.encryption_key.get_secret_value().encode()
    return hmac.new(material, b"agentfleet unsubscribe links", hashlib.sha256).digest()


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign_unsubscribe(settings: Settings, tenant_id: uuid.UUID, email: str) -> str:
    payload = json.dumps({"t": str(tenant_id), "e": email.strip().lower()}, separators=(",", ":"))
    body = _b64(payload.encode())
    mac = hmac.new(_key(settings), body.encode(), hashlib.sha256).digest()
    return f"{body}.{_b64(mac)}"


def verify_unsubscribe(settings: Settings, token: str) -> UnsubscribeToken | None:
    """The token's tenant and address, or None when it was not signed by this platform."""
    body, _, mac = token.partition(".")
    try:
        expected = hmac.new(_key(settings), body.encode(), hashlib.sha256).digest()
        if not hmac.compare_digest(expected, _unb64(mac)):
            return None
        data = json.loads(_unb64(body))
        return UnsubscribeToken(uuid.UUID(data["t"]), str(data["e"]))
    except (ValueError, KeyError, TypeError):
        return None


def unsubscribe_url(settings: Settings, tenant_id: uuid.UUID, email: str) -> str:
    base = settings.public_base_url.rstrip("/")
    return f"{base}/v1/unsubscribe/{sign_unsubscribe(settings, tenant_id, email)}"
