"""Creating tenants and their API keys (used by the CLI, the demo and the tests)."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

from shared.api_keys import generate_api_key
from shared.db.database import Database
from shared.db.models import ApiKey, Tenant
from shared.roles import Role

__all__ = ["CreatedKey", "create_api_key", "create_tenant"]


@dataclass(frozen=True)
class CreatedKey:
    tenant_id: uuid.UUID
    key_id: uuid.UUID
    token: str
    role: Role


def create_tenant(db: Database, name: str, *, slug: str | None = None) -> uuid.UUID:
    tenant_id = uuid.uuid4()
    slug = slug or f"{re.sub(r'[^a-z0-9]+', '-', name.lower()).strip('-')}-{tenant_id.hex[:6]}"
    with db.unit_of_work(tenant_id) as uow:
        uow.session.add(Tenant(id=tenant_id, name=name, slug=slug))
        uow.commit()
    return tenant_id


def create_api_key(
    db: Database, tenant_id: uuid.UUID, *, name: str = "default", role: Role = Role.ADMIN
) -> CreatedKey:
    """Create a key and return its token; the token is shown once and never stored."""
    generated = generate_api_key()
    key_id = uuid.uuid4()
    with db.unit_of_work(tenant_id) as uow:
        uow.session.add(
            ApiKey(
                id=key_id,
                tenant_id=tenant_id,
                name=name,
                prefix=generated.prefix,
                key_hash=generated.key_hash,
                role=role,
            )
        )
        uow.commit()
    return CreatedKey(tenant_id=tenant_id, key_id=key_id, token=generated.token, role=role)
