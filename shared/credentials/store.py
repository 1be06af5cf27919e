"""Storing, listing and resolving provider credentials (always through the unit of work)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from shared.credentials.cipher import CredentialCipher, UnknownEncryptionKey
from shared.db.base import utcnow
from shared.db.models import Provider, ProviderCredential
from shared.db.unit_of_work import UnitOfWork
from shared.errors import NotFound
from shared.logging import register_secret
from shared.settings import Settings

__all__ = [
    "CredentialView",
    "ResolvedKey",
    "RotationResult",
    "delete_credential",
    "list_credentials",
    "mark_verified",
    "mask_key",
    "read_credential",
    "resolve_api_key",
    "rotate_credentials",
    "set_credential",
]

PLATFORM = "platform"


@dataclass(frozen=True)
class CredentialView:
    """What may be shown of a credential: never the key, only a masked hint."""

    id: uuid.UUID
    provider: str
    name: str
    masked_key: str
    is_active: bool
    limits: dict[str, int]
    created_at: datetime
    updated_at: datetime
    verified_at: datetime | None


@dataclass(frozen=True)
class ResolvedKey:
    """The key a call will use; ``credential_key`` names its rate-limit bucket, not the key."""

    provider: str
    source: str
    credential_key: str
    api_key: str = field(repr=False)
    limits: dict[str, int] = field(default_factory=dict)
    """The credential's own rate limits (empty: the platform's configured limits apply)."""


def mask_key(api_key: str) -> str:
    """``sk-…c3d4``: enough to recognise a key, not to use it."""
    tail = api_key[-4:] if len(api_key) >= 12 else ""
    head = api_key[:3] if len(api_key) >= 12 else ""
    return f"{head}…{tail}"


def _context(tenant_id: uuid.UUID, provider: str, name: str) -> str:
    return f"{tenant_id}:{provider}:{name}"


def set_credential(
    uow: UnitOfWork,
    cipher: CredentialCipher,
    tenant_id: uuid.UUID,
    provider: Provider,
    api_key: str,
    *,
    name: str = "default",
    limits: dict[str, int] | None = None,
) -> CredentialView:
    """Create or replace the tenant's key for ``provider``; the caller commits."""
    blob, key_id = cipher.encrypt(api_key, context=_context(tenant_id, provider.value, name))
    credential = uow.session.scalars(
        sa.select(ProviderCredential)
        .where(
            ProviderCredential.tenant_id == tenant_id,
            ProviderCredential.provider == provider.value,
            ProviderCredential.name == name,
        )
        .with_for_update()
    ).first()
    if credential is None:
        credential = ProviderCredential(
            id=uuid.uuid4(), tenant_id=tenant_id, provider=provider.value, name=name
        )
        uow.session.add(credential)
    credential.encrypted_key = blob
    credential.encryption_key_id = key_id
    credential.key_hint = mask_key(api_key)[-8:]
    credential.is_active = True
    credential.limits = dict(limits or {})
    credential.verified_at = None
    credential.updated_at = utcnow()
    uow.session.flush()
    return _view(credential)


def list_credentials(uow: UnitOfWork, tenant_id: uuid.UUID) -> list[CredentialView]:
    rows = uow.session.scalars(
        sa.select(ProviderCredential)
        .where(ProviderCredential.tenant_id == tenant_id)
        .order_by(ProviderCredential.provider, ProviderCredential.name)
    ).all()
    return [_view(row) for row in rows]


def delete_credential(
    uow: UnitOfWork, tenant_id: uuid.UUID, provider: Provider, *, name: str = "default"
) -> None:
    deleted = uow.session.execute(
        sa.delete(ProviderCredential)
        .where(
            ProviderCredential.tenant_id == tenant_id,
            ProviderCredential.provider == provider.value,
            ProviderCredential.name == name,
        )
        .returning(ProviderCredential.id)
    ).first()
    if deleted is None:
        raise NotFound(f"no {provider.value} credential named {name!r}")


def read_credential(
    uow: UnitOfWork,
    cipher: CredentialCipher,
    tenant_id: uuid.UUID,
    provider: Provider,
    *,
    name: str = "default",
) -> str:
    """The decrypted key of one stored credential (NotFound if there is none)."""
    credential = _named(uow, tenant_id, provider, name)
    return cipher.decrypt(
        credential.encrypted_key,
        credential.encryption_key_id,
        context=_context(tenant_id, provider.value, name),
    )


def mark_verified(
    uow: UnitOfWork, tenant_id: uuid.UUID, provider: Provider, *, name: str = "default"
) -> datetime:
    credential = _named(uow, tenant_id, provider, name)
    credential.verified_at = utcnow()
    return credential.verified_at


def _named(
    uow: UnitOfWork, tenant_id: uuid.UUID, provider: Provider, name: str
) -> ProviderCredential:
    credential = uow.session.scalars(
        sa.select(ProviderCredential).where(
            ProviderCredential.tenant_id == tenant_id,
            ProviderCredential.provider == provider.value,
            ProviderCredential.name == name,
        )
    ).first()
    if credential is None:
        raise NotFound(f"no {provider.value} credential named {name!r}")
    return credential


def resolve_api_key(
    uow: UnitOfWork,
    cipher: CredentialCipher,
    settings: Settings,
    tenant_id: uuid.UUID,
    provider: Provider,
) -> ResolvedKey:
    """The tenant's own active key for ``provider`` if it has one, else the platform key."""
    credential = uow.session.scalars(
        sa.select(ProviderCredential)
        .where(
            ProviderCredential.tenant_id == tenant_id,
            ProviderCredential.provider == provider.value,
            ProviderCredential.is_active.is_(True),
        )
        .order_by((ProviderCredential.name == "default").desc(), ProviderCredential.created_at)
        .limit(1)
    ).first()
    if credential is None:
        platform_key = getattr(settings, f"{provider.value}_api_key").get_secret_value()
        return ResolvedKey(provider.value, PLATFORM, PLATFORM, platform_key)
    api_key = cipher.decrypt(
        credential.encrypted_key,
        credential.encryption_key_id,
        context=_context(tenant_id, provider.value, credential.name),
    )
    register_secret(api_key)
    return ResolvedKey(
        provider.value, "tenant", f"credential:{credential.id}", api_key, dict(credential.limits)
    )


@dataclass(frozen=True)
class RotationResult:
    rotated: int
    unreadable: list[uuid.UUID]
    """Credentials under a key that is no longer configured: left as they are."""


def rotate_credentials(uow: UnitOfWork, cipher: CredentialCipher) -> RotationResult:
    """Re-encrypt every visible credential not under the current key; the caller commits."""
    stale = uow.session.scalars(
        sa.select(ProviderCredential)
        .where(ProviderCredential.encryption_key_id != cipher.current_key_id)
        .with_for_update()
    ).all()
    unreadable: list[uuid.UUID] = []
    for credential in stale:
        context = _context(credential.tenant_id, credential.provider, credential.name)
        try:
            plaintext = cipher.decrypt(
                credential.encrypted_key, credential.encryption_key_id, context=context
            )
        except UnknownEncryptionKey:
            unreadable.append(credential.id)
            continue
        credential.encrypted_key, credential.encryption_key_id = cipher.encrypt(
            plaintext, context=context
        )
    return RotationResult(rotated=len(stale) - len(unreadable), unreadable=unreadable)


def _view(credential: ProviderCredential) -> CredentialView:
    return CredentialView(
        id=credential.id,
        provider=credential.provider,
        name=credential.name,
        masked_key=credential.key_hint,
        is_active=credential.is_active,
        limits=dict(credential.limits or {}),
        created_at=credential.created_at,
        updated_at=credential.updated_at,
        verified_at=credential.verified_at,
    )
