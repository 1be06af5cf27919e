"""Tenants' own provider keys: encrypted at rest, masked when shown, platform key as fallback."""

from shared.credentials.cipher import CredentialCipher, UnknownEncryptionKey, credential_cipher
from shared.credentials.store import (
    CredentialView,
    ResolvedKey,
    RotationResult,
    delete_credential,
    list_credentials,
    mark_verified,
    mask_key,
    read_credential,
    resolve_api_key,
    rotate_credentials,
    set_credential,
)

__all__ = [
    "CredentialCipher",
    "CredentialView",
    "ResolvedKey",
    "RotationResult",
    "UnknownEncryptionKey",
    "credential_cipher",
    "delete_credential",
    "list_credentials",
    "mark_verified",
    "mask_key",
    "read_credential",
    "resolve_api_key",
    "rotate_credentials",
    "set_credential",
]
