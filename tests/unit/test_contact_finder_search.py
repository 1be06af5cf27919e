"""The contact_finder agent's people search, department filter and email normalisation."""

from __future__ import annotations

import pytest

from shared.agents.config import ContactFinderConfig
from shared.apollo import Person
from workers.contact_finder.search import (
    AccountRef,
    department_matches,
    match_query,
    normalise_email,
    people_query,
)

pytestmark = pytest.mark.unit

CONFIG = ContactFinderConfig.model_validate(
    {
        "titles": ["VP of Sales", "Head of Growth", "VP of Sales"],
        "seniorities": ["vp", "head"],
        "departments": ["Sales"],
        "maxContactsPerAccount": 3,
    }
)


def test_the_search_targets_the_account_by_domain_with_the_configured_filters() -> None:
    query = people_query(CONFIG, AccountRef("Acme", "acme.com", "org-1"))

    assert query.body() == {
        "page": 1,
        "per_page": 10,
        "person_titles": ["VP of Sales", "Head of Growth"],
        "include_similar_titles": True,
        "person_seniorities": ["vp", "head"],
        "q_organization_domains_list": ["acme.com"],
    }


def test_an_account_without_a_domain_is_searched_by_its_apollo_id() -> None:
    config = ContactFinderConfig(max_contacts_per_account=30)

    body = people_query(config, AccountRef("Acme", None, "org-1")).body()

    assert body == {"page": 1, "per_page": 60, "organization_ids": ["org-1"]}


def test_a_match_identifies_the_person_at_the_account() -> None:
    person = Person(id="p1", first_name="Dana", last_name_obfuscated="Re***s")

    body = match_query(person, AccountRef("Acme", "acme.com", None)).body()

    assert body == {
        "id": "p1",
        "first_name": "Dana",
        "organization_name": "Acme",
        "domain": "acme.com",
        "reveal_personal_emails": False,
    }


@pytest.mark.parametrize(
    ("wanted", "departments", "fits"),
    [
        (["Sales"], ["master_sales"], True),
        (["customer success"], ["Customer-Success"], True),
        (["engineering"], ["master_sales"], False),
        (["engineering"], [], True),
        ([], ["master_sales"], True),
    ],
)
def test_departments_are_compared_by_apollos_names(
    wanted: list[str], departments: list[str], fits: bool
) -> None:
    assert department_matches(wanted, departments) is fits


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(" Dana.Reyes@Acme.COM ", "dana.reyes@acme.com"), ("", None), (None, None), ("nope", None)],
)
def test_emails_are_compared_trimmed_and_lower_case(raw: str | None, expected: str | None) -> None:
    assert normalise_email(raw) == expected
