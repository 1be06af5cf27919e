"""The lead_source agent's ICP → Apollo organization search mapping and domain deduplication."""

from __future__ import annotations

import pytest

from shared.agents.config import LeadSourceConfig
from shared.apollo import Organization
from shared.errors import PermanentError
from shared.task_inputs import IcpOverride, SourceLeadsInput
from workers.lead_source.accounts import found_organizations
from workers.lead_source.icp import (
    organization_domain,
    organization_query,
    pages_to_fetch,
    technology_uid,
)

pytestmark = pytest.mark.unit

CONFIG = LeadSourceConfig.model_validate(
    {
        "industries": ["Computer Software", "Logistics"],
        "employeeRanges": ["51,200", "201,1000"],
        "revenueRange": {"min": 1_000_000, "max": 50_000_000},
        "locations": ["Germany", "United Kingdom"],
        "technologies": ["Salesforce", "Google Analytics"],
        "keywords": ["b2b", "Logistics"],
        "maxPagesPerRun": 3,
    }
)


def test_the_configured_icp_becomes_every_apollo_filter() -> None:
    query = organization_query(CONFIG, None, per_page=40)

    assert query.body() == {
        "page": 1,
        "per_page": 40,
        "q_organization_keyword_tags": ["Computer Software", "Logistics", "b2b"],
        "organization_num_employees_ranges": ["51,200", "201,1000"],
        "organization_locations": ["Germany", "United Kingdom"],
        "currently_using_any_of_technology_uids": ["salesforce", "google_analytics"],
        "revenue_range": {"min": 1_000_000, "max": 50_000_000},
    }


def test_an_override_replaces_only_the_filters_it_sets() -> None:
    override = IcpOverride(
        locations=["France"], technologies=[], revenue_max=90_000_000, keywords=["saas"]
    )

    body = organization_query(CONFIG, override, per_page=25).body()

    assert body["organization_locations"] == ["France"]
    assert "currently_using_any_of_technology_uids" not in body, "an empty override clears it"
    assert body["q_organization_keyword_tags"] == ["Computer Software", "Logistics", "saas"]
    assert body["revenue_range"] == {"min": 1_000_000, "max": 90_000_000}
    assert body["organization_num_employees_ranges"] == ["51,200", "201,1000"]


def test_an_empty_profile_sends_no_filters() -> None:
    assert organization_query(LeadSourceConfig(), None, per_page=10).body() == {
        "page": 1,
        "per_page": 10,
    }


def test_revenue_bounds_the_wrong_way_round_fail_the_task() -> None:
    with pytest.raises(PermanentError, match="invalid ideal customer profile"):
        organization_query(CONFIG, IcpOverride(revenue_max=10), per_page=10)


@pytest.mark.parametrize(
    ("name", "uid"),
    [("Salesforce", "salesforce"), ("Google Analytics", "google_analytics"), (" AWS ", "aws")],
)
def test_technology_names_become_apollo_uids(name: str, uid: str) -> None:
    assert technology_uid(name) == uid


def test_the_task_page_budget_wins_over_the_agents() -> None:
    assert pages_to_fetch(CONFIG, SourceLeadsInput()) == 3
    assert pages_to_fetch(CONFIG, SourceLeadsInput(max_pages=7)) == 7


@pytest.mark.parametrize(
    ("primary_domain", "website_url", "expected"),
    [
        ("Acme.com", None, "acme.com"),
        (None, "http://www.acme.io/about", "acme.io"),
        (None, "https://shop.acme.co.uk:8443", "shop.acme.co.uk"),
        (None, None, None),
        ("localhost", None, None),
    ],
)
def test_an_organizations_domain_is_bare_and_lower_case(
    primary_domain: str | None, website_url: str | None, expected: str | None
) -> None:
    organization = Organization(id="o1", primary_domain=primary_domain, website_url=website_url)
    assert organization_domain(organization) == expected


def test_organizations_are_grouped_by_domain_once_each() -> None:
    found = found_organizations(
        [
            Organization(id="a", name="Acme", primary_domain="acme.com"),
            Organization(id="b", name="Nameless"),
            Organization(id="c", name="Acme again", website_url="https://www.ACME.com"),
            Organization(id="d", name="Globex", primary_domain="globex.com"),
        ]
    )

    assert list(found.by_domain) == ["acme.com", "globex.com"]
    assert found.by_domain["acme.com"].id == "a"
    assert [o.id for o in found.without_domain] == ["b"]
    assert found.repeats == 1
    assert found.seen == 3
