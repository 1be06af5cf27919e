"""``/v1/credentials``: a tenant's own provider keys, stored encrypted and shown masked."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from services.api.auth import Principal, require
from services.api.problems import ProblemError
from shared.credentials import (
    CredentialCipher,
    CredentialView,
    delete_credential,
    list_credentials,
    mark_verified,
    read_credential,
    set_credential,
)
from shared.credentials.verify import verify_key
from shared.db.database import Database
from shared.db.models import Provider
from shared.errors import TransientError
from shared.ratelimit import LIMIT_SETTING_NAMES
from shared.roles import Permission

router = APIRouter(prefix="/v1/credentials", tags=["credentials"])


class CredentialIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    api_key: str = Field(min_length=8, max_length=500, repr=False)
    name: str = Field(default="default", min_length=1, max_length=100)
    limits: dict[str, Annotated[int, Field(ge=1)]] = Field(
        default_factory=dict,
        description="This key's own rate limits, e.g. {'requests_per_minute': 60} "
        "(apollo also requests_per_hour and requests_per_day); others come from settings.",
    )


class CredentialOut(BaseModel):
    id: str
    provider: str
    name: str
    masked_key: str
    is_active: bool
    limits: dict[str, int]
    created_at: datetime
    updated_at: datetime
    verified_at: datetime | None

    @classmethod
    def of(cls, view: CredentialView) -> CredentialOut:
        return cls(
            id=str(view.id),
            provider=view.provider,
            name=view.name,
            masked_key=view.masked_key,
            is_active=view.is_active,
            limits=view.limits,
            created_at=view.created_at,
            updated_at=view.updated_at,
            verified_at=view.verified_at,
        )


@router.get("", response_model=list[CredentialOut])
def read_credentials(
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.INTEGRATIONS_READ))],
) -> list[CredentialOut]:
    db: Database = request.app.state.db
    with db.unit_of_work(principal.tenant_id) as uow:
        return [CredentialOut.of(view) for view in list_credentials(uow, principal.tenant_id)]


@router.put("/{provider}", response_model=CredentialOut)
def store_credential(
    provider: Provider,
    body: CredentialIn,
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.INTEGRATIONS_WRITE))],
) -> CredentialOut:
    unknown = set(body.limits) - set(LIMIT_SETTING_NAMES[provider.value])
    if unknown:
        allowed = ", ".join(LIMIT_SETTING_NAMES[provider.value])
        raise ProblemError(
            422,
            "Invalid request",
            f"unknown {provider.value} limits: {', '.join(sorted(unknown))} (allowed: {allowed})",
        )
    db: Database = request.app.state.db
    cipher: CredentialCipher = request.app.state.cipher
    with db.unit_of_work(principal.tenant_id) as uow:
        view = set_credential(
            uow,
            cipher,
            principal.tenant_id,
            provider,
            body.api_key,
            name=body.name,
            limits=body.limits,
        )
        uow.commit()
    return CredentialOut.of(view)


class VerificationOut(BaseModel):
    provider: str
    name: str
    valid: bool
    reason: str | None
    verified_at: datetime | None


@router.post("/{provider}/verify", response_model=VerificationOut)
def verify_credential(
    provider: Provider,
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.INTEGRATIONS_WRITE))],
    name: Annotated[str, Query(min_length=1, max_length=100)] = "default",
) -> VerificationOut:
    """Try the tenant's stored key with the provider's cheapest call and record the result.

    A deliberate, rare call made by a person; the agents' calls go through the workers.
    """
    db: Database = request.app.state.db
    cipher: CredentialCipher = request.app.state.cipher
    with db.unit_of_work(principal.tenant_id) as uow:
        api_key = read_credential(uow, cipher, principal.tenant_id, provider, name=name)
    try:
        verdict = verify_key(request.app.state.settings, provider, api_key)
    except TransientError as exc:
        raise ProblemError(503, "Provider unavailable", str(exc)) from None
    verified_at = None
    with db.unit_of_work(principal.tenant_id) as uow:
        if verdict.valid:
            verified_at = mark_verified(uow, principal.tenant_id, provider, name=name)
        uow.commit()
    return VerificationOut(
        provider=provider.value,
        name=name,
        valid=verdict.valid,
        reason=verdict.reason,
        verified_at=verified_at,
    )


@router.delete("/{provider}", status_code=204)
def remove_credential(
    provider: Provider,
    request: Request,
    principal: Annotated[Principal, Depends(require(Permission.INTEGRATIONS_WRITE))],
    name: Annotated[str, Query(min_length=1, max_length=100)] = "default",
) -> Response:
    db: Database = request.app.state.db
    with db.unit_of_work(principal.tenant_id) as uow:
        delete_credential(uow, principal.tenant_id, provider, name=name)
        uow.commit()
    return Response(status_code=204)
