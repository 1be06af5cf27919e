"""People found at an account, saved as contacts: deduplicated by email (else by Apollo id),
never an address on the tenant's suppression list."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from shared.apollo import Person
from shared.db.models import Contact, SuppressedAddress, Task
from shared.db.unit_of_work import UnitOfWork
from shared.db.upsert import insert_if_absent
from workers.contact_finder.search import normalise_email
from workers.runtime.apollo_usage import APOLLO_EXTERNAL_ID

__all__ = ["SavedContacts", "Skip", "save_contacts"]


@dataclass(frozen=True)
class Skip:
    apollo_id: str
    reason: str


@dataclass
class SavedContacts:
    added: list[uuid.UUID] = field(default_factory=list)
    existing: list[uuid.UUID] = field(default_factory=list)
    skipped: list[Skip] = field(default_factory=list)

    @property
    def found(self) -> list[uuid.UUID]:
        return [*self.added, *self.existing]


def _values(person: Person, email: str | None) -> dict[str, Any]:
    profile = {
        "headline": person.headline,
        "email_status": person.email_status,
        "location": ", ".join(p for p in (person.city, person.state, person.country) if p) or None,
        "departments": person.departments or None,
        "has_direct_phone": person.has_direct_phone,
    }
    return {
        "first_name": (person.first_name or "")[:100],
        "last_name": person.last_name[:100] if person.last_name else None,
        "email": email,
        "title": person.title[:200] if person.title else None,
        "seniority": person.seniority[:50] if person.seniority else None,
        "department": person.departments[0][:100] if person.departments else None,
        "linkedin_url": person.linkedin_url[:500] if person.linkedin_url else None,
        "enrichment": {"apollo": {k: v for k, v in profile.items() if v is not None}},
        "external_ids": {APOLLO_EXTERNAL_ID: person.id},
    }


class _Known:
    """The tenant's contacts and suppressed addresses that the found people could clash with."""

    def __init__(self, uow: UnitOfWork, tenant_id: uuid.UUID, people: Sequence[Person]) -> None:
        emails = {e for e in (normalise_email(p.email) for p in people) if e}
        apollo_ids = [p.id for p in people]
        session = uow.session
        contacts = session.scalars(
            sa.select(Contact)
            .where(
                Contact.tenant_id == tenant_id,
                sa.or_(
                    sa.func.lower(Contact.email).in_(emails),
                    Contact.external_ids[APOLLO_EXTERNAL_ID].as_string().in_(apollo_ids),
                ),
            )
            .order_by(Contact.created_at)
            .with_for_update()
        ).all()
        self.by_email: dict[str, Contact] = {}
        self.by_apollo_id: dict[str, Contact] = {}
        for contact in contacts:
            if contact.email:
                self.by_email.setdefault(contact.email.lower(), contact)
            apollo_id = (contact.external_ids or {}).get(APOLLO_EXTERNAL_ID)
            if apollo_id:
                self.by_apollo_id.setdefault(str(apollo_id), contact)
        emails |= set(self.by_email)
        emails |= {c.email.lower() for c in self.by_apollo_id.values() if c.email}
        self.suppressed = set(
            session.scalars(
                sa.select(sa.func.lower(SuppressedAddress.email)).where(
                    SuppressedAddress.tenant_id == tenant_id,
                    sa.func.lower(SuppressedAddress.email).in_(emails),
                )
            )
        )

    def existing(self, person: Person, email: str | None) -> Contact | None:
        return (self.by_email.get(email) if email else None) or self.by_apollo_id.get(person.id)


def _adopt(contact: Contact, person: Person, email: str | None, account_id: uuid.UUID) -> None:
    """Link a contact the tenant already has to the account and to Apollo, keeping its data."""
    if contact.account_id is None:
        contact.account_id = account_id
    if contact.email is None and email is not None:
        contact.email = email
    if APOLLO_EXTERNAL_ID not in (contact.external_ids or {}):
        contact.external_ids = {**(contact.external_ids or {}), APOLLO_EXTERNAL_ID: person.id}
        contact.version += 1


def save_contacts(
    uow: UnitOfWork, task: Task, account_id: uuid.UUID, people: Sequence[Person]
) -> SavedContacts:
    """Add the new people as the account's contacts; a person found twice counts once."""
    known = _Known(uow, task.tenant_id, people)
    saved = SavedContacts()
    seen: set[str] = set()
    for person in people:
        email = normalise_email(person.email)
        existing = known.existing(person, email)
        address = email or (existing.email.lower() if existing and existing.email else None)
        keys = {f"id:{person.id}", *([f"email:{address}"] if address else [])}
        if keys & seen:
            continue
        seen |= keys
        if address and address in known.suppressed:
            saved.skipped.append(Skip(person.id, "suppressed"))
            continue
        if existing is not None:
            _adopt(existing, person, email, account_id)
            saved.existing.append(existing.id)
            continue
        contact_id = uuid.uuid5(task.id, f"contact:{person.id}")
        values = {"id": contact_id, "tenant_id": task.tenant_id, "account_id": account_id}
        if insert_if_absent(uow.session, Contact, {**values, **_values(person, email)}):
            saved.added.append(contact_id)
        else:
            saved.skipped.append(Skip(person.id, "duplicate"))
    uow.session.flush()
    return saved
