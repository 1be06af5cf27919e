"""Provider access for a worker process: the right client for a tenant's call.

Per call it checks the tenant's budget (fail fast), picks provider and model (agent config,
then tenant settings, then platform settings) and the key (the tenant's own credential, else
the platform key), all in one read; Apollo clients are chosen by key alone. Clients are kept
per thread, a few at a time, because a client owns a connection pool and a tenant's key
needs its own.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections import OrderedDict
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar, cast

import httpx
import sqlalchemy as sa

from shared.apollo import ApolloClient
from shared.credentials import CredentialCipher, ResolvedKey, resolve_api_key
from shared.db.database import Database
from shared.db.models import Agent, Provider, Tenant
from shared.db.unit_of_work import UnitOfWork
from shared.llm import LlmClient, build_llm_client
from shared.ratelimit import CallGate, LimitBook
from shared.settings import Settings
from shared.usage import budget_refusal

__all__ = ["ProviderAccess"]

_CLIENTS_PER_THREAD = 16


class _Closable(Protocol):
    def close(self) -> None: ...


ClientT = TypeVar("ClientT", bound=_Closable)


class ProviderAccess:
    def __init__(
        self,
        settings: Settings,
        db: Database,
        cipher: CredentialCipher,
        gate: CallGate,
        *,
        limit_book: LimitBook | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._settings = settings
        self._db = db
        self._cipher = cipher
        self._gate = gate
        self._limit_book = limit_book
        self._transport = transport
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all_caches: list[OrderedDict[tuple[str, ...], _Closable]] = []

    def llm(self, tenant_id: uuid.UUID, *, agent_id: uuid.UUID | None = None) -> LlmClient:
        """The LLM client for this tenant (and agent); raises ``BudgetExceeded`` when spent."""
        with self._db.unit_of_work(tenant_id) as uow:
            self._check_budget(uow, tenant_id)
            preferences = _preferences(uow.session, tenant_id, agent_id)
            provider = str(preferences.get("llm_provider") or self._settings.llm_provider)
            key = resolve_api_key(uow, self._cipher, self._settings, tenant_id, Provider(provider))
        model = str(preferences.get("llm_model") or self._settings.llm_model_for(provider))

        def build() -> LlmClient:
            return build_llm_client(
                self._settings,
                provider,
                api_key=key.api_key,
                model=model,
                gate=self._gate,
                credential_key=key.credential_key,
                tenant_id=str(tenant_id),
                transport=self._transport,
            )

        return self._cached(key, (provider, model, str(tenant_id)), build)

    def apollo(self, tenant_id: uuid.UUID) -> ApolloClient:
        """The Apollo client for this tenant (its own key, else the platform's)."""
        with self._db.unit_of_work(tenant_id) as uow:
            self._check_budget(uow, tenant_id)
            key = resolve_api_key(uow, self._cipher, self._settings, tenant_id, Provider.APOLLO)

        def build() -> ApolloClient:
            return ApolloClient.from_settings(
                self._settings,
                api_key=key.api_key,
                gate=self._gate,
                credential_key=key.credential_key,
                tenant_id=str(tenant_id),
                transport=self._transport,
            )

        return self._cached(key, ("apollo", str(tenant_id)), build)

    def _check_budget(self, uow: UnitOfWork, tenant_id: uuid.UUID) -> None:
        refusal = budget_refusal(uow, tenant_id, datetime.now(UTC))
        if refusal is not None:
            uow.commit()
            raise refusal

    def _cached(
        self, key: ResolvedKey, scope: tuple[str, ...], build: Callable[[], ClientT]
    ) -> ClientT:
        if key.limits and self._limit_book is not None:
            self._limit_book.register(key.credential_key, key.limits)
        fingerprint = hashlib.sha256(key.api_key.encode()).hexdigest()[:16]
        cache_key = (*scope, key.credential_key, fingerprint)
        cache = self._cache()
        cached = cache.get(cache_key)
        if cached is None:
            cached = build()
            cache[cache_key] = cached
            if len(cache) > _CLIENTS_PER_THREAD:
                _, evicted = cache.popitem(last=False)
                evicted.close()
        cache.move_to_end(cache_key)
        return cast(ClientT, cached)

    def _cache(self) -> OrderedDict[tuple[str, ...], _Closable]:
        cache: OrderedDict[tuple[str, ...], _Closable] | None = getattr(self._local, "cache", None)
        if cache is None:
            cache = OrderedDict()
            self._local.cache = cache
            with self._lock:
                self._all_caches.append(cache)
        return cache

    def close(self) -> None:
        with self._lock:
            for cache in self._all_caches:
                for client in cache.values():
                    client.close()
                cache.clear()


_AGENT_PREFERENCES = {"llmProvider": "llm_provider", "llmModel": "llm_model"}


def _preferences(session: Any, tenant_id: uuid.UUID, agent_id: uuid.UUID | None) -> dict[str, Any]:
    """``llm_provider`` / ``llm_model``: the agent's config over the tenant's settings."""
    tenant_settings = session.scalar(sa.select(Tenant.settings).where(Tenant.id == tenant_id))
    merged = {k: v for k, v in (tenant_settings or {}).items() if k in _AGENT_PREFERENCES.values()}
    if agent_id is not None:
        config = session.scalar(
            sa.select(Agent.config).where(Agent.tenant_id == tenant_id, Agent.id == agent_id)
        )
        # Agent configs are stored in the seeds' camelCase.
        merged.update(
            {
                _AGENT_PREFERENCES[k]: v
                for k, v in (config or {}).items()
                if k in _AGENT_PREFERENCES and v
            }
        )
    return {k: v for k, v in merged.items() if v}
