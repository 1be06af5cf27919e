"""Who the contact_finder looks for: the people search for an account, and the filters Apollo's
search cannot apply. Pure functions, no I/O."""

from __future__ import annotations

from dataclasses import dataclass

from shared.agents.config import ContactFinderConfig
from shared.apollo import PeopleSearch, Person, PersonMatch
from shared.apollo.queries import MAX_PER_PAGE

__all__ = [
    "AccountRef",
    "department_matches",
    "match_query",
    "normalise_email",
    "people_query",
]

_DEPARTMENT_PREFIX = "master_"


@dataclass(frozen=True)
class AccountRef:
    """What a search needs of an account."""

    name: str
    domain: str | None
    apollo_id: str | None


def people_query(config: ContactFinderConfig, account: AccountRef) -> PeopleSearch:
    """The people search at ``account`` (by domain, else by Apollo organization id) for the
    configured titles and seniorities; a page holds twice the contacts wanted, as some are
    filtered out later."""
    per_page = min(MAX_PER_PAGE, max(10, config.max_contacts_per_account * 2))
    return PeopleSearch(
        per_page=per_page,
        person_titles=list(dict.fromkeys(config.titles)) or None,
        include_similar_titles=True if config.titles else None,
        person_seniorities=list(dict.fromkeys(config.seniorities)) or None,
        q_organization_domains_list=[account.domain] if account.domain else None,
        organization_ids=[account.apollo_id] if account.apollo_id and not account.domain else None,
    )


def match_query(person: Person, account: AccountRef) -> PersonMatch:
    """The person match that reveals a search result's email (1 credit when matched)."""
    return PersonMatch(
        id=person.id,
        first_name=person.first_name,
        organization_name=account.name,
        domain=account.domain,
    )


def _department(name: str) -> str:
    return name.strip().lower().replace(" ", "_").replace("-", "_").removeprefix(_DEPARTMENT_PREFIX)


def department_matches(wanted: list[str], departments: list[str]) -> bool:
    """Whether a person in ``departments`` fits the configured ones. Apollo's search does not
    filter by department, so this is checked on what a match reports; a person whose
    departments are unknown is kept."""
    if not wanted or not departments:
        return True
    return bool({_department(d) for d in wanted} & {_department(d) for d in departments})


def normalise_email(email: str | None) -> str | None:
    """The address as stored and compared: trimmed, lower case; None unless it has an ``@``."""
    if not email:
        return None
    address = email.strip().lower()
    return address if "@" in address and len(address) <= 320 else None
