"""What the sender needs besides the database: settings, the cipher that opens mailbox
passwords, the TLS context for SMTP and a clock (injectable, so tests can pick the day)."""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from shared.credentials import CredentialCipher, credential_cipher
from shared.db.base import utcnow
from shared.settings import Settings

__all__ = ["SenderTools", "build_sender_tools"]


@dataclass(frozen=True)
class SenderTools:
    settings: Settings
    cipher: CredentialCipher
    tls_context: ssl.SSLContext
    clock: Callable[[], datetime] = field(default=utcnow)


def build_sender_tools(settings: Settings) -> SenderTools:
    """Certificates are verified against the system's trust store."""
    return SenderTools(
        settings=settings,
        cipher=credential_cipher(settings),
        tls_context=ssl.create_default_context(),
    )
