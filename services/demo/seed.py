"""Sample accounts, contacts and events for a demo tenant (also used by tests and benchmarks)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from shared.db.database import Database
from shared.db.models import Account, Contact, Opportunity, OpportunityKind

__all__ = ["SeededTarget", "seed_sample_crm"]

_COMPANIES = (
    (
        "Northwind Logistics",
        "northwind.example",
        "Logistics",
        850,
        "Rotterdam",
        ["SAP", "Snowflake"],
    ),
    ("Brightleaf Health", "brightleaf.example", "Healthcare", 2300, "Boston", ["Epic", "AWS"]),
    ("Copperline Energy", "copperline.example", "Energy", 410, "Denver", ["Salesforce"]),
    ("Atlas Fintech", "atlasfin.example", "Financial services", 120, "London", ["Stripe", "GCP"]),
    ("Helio Robotics", "helio.example", "Manufacturing", 640, "Munich", ["Siemens MES"]),
    ("Lumen Retail Group", "lumenretail.example", "Retail", 5200, "Chicago", ["Shopify Plus"]),
)
_PEOPLE = (
    ("Maya", "Okafor", "VP Operations"),
    ("Daniel", "Reyes", "Head of Data"),
    ("Sofia", "Lindqvist", "Chief Technology Officer"),
    ("Arjun", "Mehta", "Director of Procurement"),
)
_EVENTS = (
    ("SupplyChain Live 2027", "Annual supply-chain operations conference", "Amsterdam"),
    ("Data Leaders Summit", "Two days on modern data platforms", "London"),
    ("Series C funding announced", "Raised a Series C to expand into new markets", None),
)


@dataclass(frozen=True)
class SeededTarget:
    contact_id: uuid.UUID
    opportunity_id: uuid.UUID
    contact_name: str
    company: str


def seed_sample_crm(
    db: Database, tenant_id: uuid.UUID, *, contacts: int = 24
) -> list[SeededTarget]:
    """Create ``contacts`` contacts spread over the sample companies, each with an event."""
    targets: list[SeededTarget] = []
    now = datetime.now(UTC)
    with db.unit_of_work(tenant_id) as uow:
        accounts = []
        for name, domain, industry, employees, city, tech in _COMPANIES:
            account = Account(
                id=uuid.uuid4(),
                tenant_id=tenant_id,
                name=name,
                domain=domain,
                industry=industry,
                employee_count=employees,
                location=city,
                technologies=tech,
            )
            accounts.append(account)
        uow.session.add_all(accounts)
        for index in range(contacts):
            account = accounts[index % len(accounts)]
            first, last, title = _PEOPLE[(index // len(accounts)) % len(_PEOPLE)]
            event_title, description, location = _EVENTS[index % len(_EVENTS)]
            contact = Contact(
                id=uuid.uuid4(),
                tenant_id=tenant_id,
                account_id=account.id,
                first_name=first,
                last_name=last,
                title=title,
                email=f"{first.lower()}.{last.lower()}.{index}@{account.domain}",
            )
            opportunity = Opportunity(
                id=uuid.uuid4(),
                tenant_id=tenant_id,
                account_id=account.id,
                contact_id=contact.id,
                kind=OpportunityKind.EVENT if location else OpportunityKind.SIGNAL,
                title=event_title,
                description=description,
                location=location,
                event_date=now + timedelta(days=30 + index) if location else None,
            )
            uow.session.add_all([contact, opportunity])
            targets.append(
                SeededTarget(contact.id, opportunity.id, f"{first} {last}", account.name)
            )
        uow.commit()
    return targets
