"""Organizations found by a search, upserted as the tenant's accounts (one per domain)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from shared.apollo import Organization
from shared.db.models import Account, Task
from shared.db.unit_of_work import UnitOfWork
from shared.db.upsert import insert_if_absent
from workers.lead_source.icp import organization_domain
from workers.runtime.apollo_usage import APOLLO_EXTERNAL_ID

__all__ = ["Found", "ImportedAccount", "found_organizations", "import_accounts"]

ENRICHMENT_KEY = "lead_source"
"""Where an account's ``enrichment`` keeps the organization as the search returned it."""


@dataclass
class Found:
    """A search's organizations: one per domain, and those without a domain."""

    by_domain: dict[str, Organization] = field(default_factory=dict)
    without_domain: list[Organization] = field(default_factory=list)
    repeats: int = 0

    @property
    def seen(self) -> int:
        """Distinct organizations: a domain seen twice counts once."""
        return len(self.by_domain) + len(self.without_domain)


@dataclass(frozen=True)
class ImportedAccount:
    account_id: uuid.UUID
    domain: str
    name: str
    created: bool

    def listing(self) -> dict[str, Any]:
        return {
            "account_id": str(self.account_id),
            "domain": self.domain,
            "name": self.name,
            "created": self.created,
        }


def found_organizations(organizations: Sequence[Organization]) -> Found:
    """Group ``organizations`` by bare domain, first seen first; repeats and domainless apart."""
    found = Found()
    for organization in organizations:
        domain = organization_domain(organization)
        if domain is None:
            found.without_domain.append(organization)
        elif domain in found.by_domain:
            found.repeats += 1
        else:
            found.by_domain[domain] = organization
    return found


def _location(organization: Organization) -> str | None:
    parts = [p for p in (organization.city, organization.state, organization.country) if p]
    return ", ".join(parts)[:300] or None


def _technologies(organization: Organization) -> list[str]:
    names = organization.technology_names or [t.name for t in organization.technologies if t.name]
    return list(dict.fromkeys(names))


def _firmographics(organization: Organization, domain: str) -> dict[str, Any]:
    return {
        "name": (organization.name or domain)[:300],
        "industry": organization.industry[:200] if organization.industry else None,
        "employee_count": organization.estimated_num_employees,
        "annual_revenue_usd": int(organization.annual_revenue)
        if organization.annual_revenue is not None
        else None,
        "location": _location(organization),
        "technologies": _technologies(organization),
    }


def _snapshot(organization: Organization, task: Task) -> dict[str, Any]:
    return {
        "source": "apollo",
        "task_id": str(task.id),
        "organization": organization.model_dump(mode="json", exclude_none=True),
    }


def _refresh(account: Account, organization: Organization, domain: str, task: Task) -> None:
    """Fill what the account lacks; what the tenant already holds is kept."""
    for name, value in _firmographics(organization, domain).items():
        if value not in (None, []) and getattr(account, name) in (None, "", []):
            setattr(account, name, value)
    account.external_ids = {**(account.external_ids or {}), APOLLO_EXTERNAL_ID: organization.id}
    account.enrichment = {
        **(account.enrichment or {}),
        ENRICHMENT_KEY: _snapshot(organization, task),
    }
    account.version += 1


def _existing(uow: UnitOfWork, task: Task, domains: Sequence[str]) -> dict[str, Account]:
    if not domains:
        return {}
    accounts = uow.session.scalars(
        sa.select(Account)
        .where(Account.tenant_id == task.tenant_id, sa.func.lower(Account.domain).in_(domains))
        .order_by(Account.created_at)
        .with_for_update()
    ).all()
    found: dict[str, Account] = {}
    for account in accounts:
        found.setdefault((account.domain or "").lower(), account)
    return found


def import_accounts(uow: UnitOfWork, task: Task, found: Found) -> list[ImportedAccount]:
    """Insert an account per new domain and refresh the ones the tenant already has."""
    existing = _existing(uow, task, list(found.by_domain))
    imported = []
    for domain, organization in found.by_domain.items():
        account = existing.get(domain)
        if account is None:
            values = _firmographics(organization, domain)
            account_id = uuid.uuid5(task.id, f"account:{domain}")
            if insert_if_absent(
                uow.session,
                Account,
                {
                    "id": account_id,
                    "tenant_id": task.tenant_id,
                    "domain": domain,
                    **values,
                    "external_ids": {APOLLO_EXTERNAL_ID: organization.id},
                    "enrichment": {ENRICHMENT_KEY: _snapshot(organization, task)},
                },
            ):
                imported.append(ImportedAccount(account_id, domain, values["name"], True))
                continue
            account = _existing(uow, task, [domain])[domain]
        _refresh(account, organization, domain, task)
        imported.append(ImportedAccount(account.id, domain, account.name, False))
    uow.session.flush()
    return imported
