"""Authenticated encryption of provider keys (AES-256-GCM), with key rotation.

Each configured secret is stretched into an AES key with HKDF-SHA256 and named by a short
fingerprint, stored beside every ciphertext; new values are encrypted with the current key
and values under a retired key still decrypt until they are rotated. The associated data
binds a ciphertext to its tenant, provider and name, so a ciphertext copied to another row
does not decrypt.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from shared.errors import PermanentError
from shared.settings import Settings

__all__ = ["CredentialCipher", "UnknownEncryptionKey", "credential_cipher"]

_NONCE_BYTES = 12
_HKDF_INFO = b"agentfleet provider credentials v1"


class UnknownEncryptionKey(PermanentError):
    """A credential was encrypted under a key that is no longer configured."""


class CredentialCipher:
    def __init__(self, current_secret: str, previous_secrets: Sequence[str] = ()) -> None:
        self._keys: dict[str, AESGCM] = {}
        self.current_key_id = self._add(current_secret)
        for secret in previous_secrets:
            self._add(secret)

    def _add(self, secret: str) -> str:
        key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(
            secret.encode()
        )
        key_id = hashlib.sha256(key).hexdigest()[:16]
        self._keys[key_id] = AESGCM(key)
        return key_id

    def encrypt(self, plaintext: str, *, context: str) -> tuple[bytes, str]:
        """``(nonce + ciphertext + tag, key id)`` under the current key."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._keys[self.current_key_id].encrypt(
            nonce, plaintext.encode(), context.encode()
        )
        return nonce + sealed, self.current_key_id

    def decrypt(self, blob: bytes, key_id: str, *, context: str) -> str:
        aead = self._keys.get(key_id)
        if aead is None:
            raise UnknownEncryptionKey(
                f"credential encrypted under key {key_id}, which is not configured "
                "(add it to encryption_previous_keys, then rotate)"
            )
        try:
            plaintext = aead.decrypt(blob[:_NONCE_BYTES], blob[_NONCE_BYTES:], context.encode())
        except InvalidTag:
            raise PermanentError("credential ciphertext failed authentication") from None
        return plaintext.decode()


def credential_cipher(settings: Settings) -> CredentialCipher:
    """The cipher for the configured current and retired keys."""
    return CredentialCipher(
        settings.encryption_key.get_secret_value(),
        [key.get_secret_value() for key in settings.encryption_previous_keys],
    )
