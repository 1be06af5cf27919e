"""The Apollo client against the sandbox's Apollo router, served over real HTTP."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.sandbox.apollo import build_apollo_router
from services.serving import serve_app
from shared.apollo import (
    RATE_LIMIT_HEADERS,
    ApolloClient,
    ApolloRateLimited,
    ApolloRejected,
    OrganizationSearch,
    PeopleSearch,
    PersonMatch,
)
from shared.errors import NotFound, RateLimited
from shared.ratelimit.gate import CallOutcome, CallPermit

pytestmark = pytest.mark.integration

API_KEY = "sandbox-apollo-key"


@dataclass(frozen=True)
class ApolloSandboxConfig:
    """The sandbox settings the Apollo router reads (the real SandboxConfig may lack some)."""

    latency_ms: float = 0
    error_rate: float = 0
    seed: int = 7
    apollo_requests_per_minute: int | None = None
    apollo_minute_window_s: float | None = None
    apollo_api_key: str | None = None


@dataclass
class RecordedRequests:
    entries: list[dict[str, Any]] = field(default_factory=list)

    def record(self, *, path: str, received_at: str, model: str | None, status: int) -> None:
        self.entries.append({"path": path, "received_at": received_at, "status": status})


class SandboxState:
    """What the sandbox app hands the router: config, request log and scripted faults."""

    def __init__(self, config: ApolloSandboxConfig, *, failures: int = 0) -> None:
        self.config = config
        self.log = RecordedRequests()
        self._failures = failures

    def take_fault(self) -> str | None:
        return None

    def roll(self, rate: float) -> bool:
        return False

    def should_fail(self) -> bool:
        if self._failures > 0:
            self._failures -= 1
            return True
        return False


class HeaderGate:
    """Admits every call and keeps the outcomes, as the Redis gate would see them."""

    def __init__(self) -> None:
        self.outcomes: list[CallOutcome] = []

    def acquire(
        self, *, provider: str, credential_key: str, tenant_id: str | None, estimated_tokens: int
    ) -> CallPermit:
        return CallPermit(provider, credential_key, tenant_id, estimated_tokens)

    def release(self, permit: CallPermit, outcome: CallOutcome) -> None:
        self.outcomes.append(outcome)


Serve = Callable[..., AbstractContextManager[tuple[str, SandboxState]]]


@pytest.fixture
def serve() -> Serve:
    @contextmanager
    def start(*, failures: int = 0, **config: Any) -> Iterator[tuple[str, SandboxState]]:
        state = SandboxState(ApolloSandboxConfig(**config), failures=failures)
        app = FastAPI()
        app.include_router(build_apollo_router(state))
        with serve_app(app) as url:
            yield f"{url}/api/v1", state

    return start


def client_for(base_url: str, **overrides: Any) -> ApolloClient:
    options: dict[str, Any] = {
        "base_url": base_url,
        "api_key": API_KEY,
        "connect_timeout_s": 2.0,
        "read_timeout_s": 5.0,
        "total_timeout_s": 20.0,
        "max_attempts": 3,
        **overrides,
    }
    return ApolloClient(**options)


def test_organization_search_pages_through_filtered_results(serve: Serve) -> None:
    query = OrganizationSearch(
        organization_num_employees_ranges=["51,200"],
        organization_locations=["Austin, Texas, United States"],
        currently_using_any_of_technology_uids=["salesforce"],
        per_page=10,
    )
    with serve() as (url, state), client_for(url) as client:
        pages = list(client.iter_organizations(query, max_pages=3))
        again = client.search_organizations(query.at_page(2))

    assert [page.pagination.page for page in pages] == [1, 2, 3]
    assert sum(page.credits_used for page in pages) == 3
    assert len({page.pagination.total_entries for page in pages}) == 1, "a stable total"
    organizations = [org for page in pages for org in page.organizations]
    assert len(organizations) == 30
    assert len({org.primary_domain for org in organizations}) == 30
    assert len({org.name for org in organizations}) == 30
    for org in organizations:
        assert org.estimated_num_employees is not None
        assert 51 <= org.estimated_num_employees <= 200
        assert (org.city, org.country) == ("Austin", "United States")
        assert "salesforce" in [tech.uid for tech in org.technologies]
        assert org.annual_revenue is not None
    assert again.organizations == pages[1].organizations, "the same query answers the same"
    assert [entry["status"] for entry in state.log.entries] == [200] * 4


def test_pagination_stops_at_the_last_page(serve: Serve) -> None:
    domains = [f"company{number}.example" for number in range(5)]
    query = OrganizationSearch(q_organization_domains_list=domains, per_page=2)
    with serve() as (url, _), client_for(url) as client:
        pages = list(client.iter_organizations(query, max_pages=10))

    assert [page.size for page in pages] == [2, 2, 1]
    assert [org.primary_domain for page in pages for org in page.organizations] == domains


def test_people_search_follows_titles_and_seniorities_without_emails(serve: Serve) -> None:
    query = PeopleSearch(
        person_titles=["VP of Sales", "Head of Revenue"],
        person_seniorities=["vp", "head"],
        q_organization_domains_list=["acme-robotics.example"],
        per_page=25,
    )
    with serve() as (url, _), client_for(url) as client:
        page = client.search_people(query)

    assert page.credits_used == 0
    assert page.pagination.total_entries >= 25
    assert page.pagination.total_pages == -(-page.pagination.total_entries // 25)
    assert len(page.people) == 25
    for person in page.people:
        assert person.title in {"VP of Sales", "Head of Revenue"}
        assert person.seniority in {"vp", "head"}
        assert person.email is None
        assert person.last_name is None
        assert person.last_name_obfuscated is not None
        assert "***" in person.last_name_obfuscated
        assert person.organization is not None
        assert person.organization.name == "Acme Robotics"


def test_person_match_reveals_the_email_for_a_credit(serve: Serve) -> None:
    with serve() as (url, _), client_for(url) as client:
        person = client.match_person(
            PersonMatch(first_name="Dana", last_name="Reyes", domain="acme-robotics.example")
        )
        by_email = client.match_person(PersonMatch(email="dana.reyes@acme-robotics.example"))
        nobody = client.match_person(PersonMatch(email="ghost@nowhere.invalid"))

    assert person is not None
    assert (person.name, person.email, person.email_status) == (
        "Dana Reyes",
        "dana.reyes@acme-robotics.example",
        "verified",
    )
    assert person.credits_used == 1
    assert person.organization is not None
    assert person.organization.primary_domain == "acme-robotics.example"
    assert person.organization_id == person.organization.id
    assert by_email is not None
    assert (by_email.first_name, by_email.last_name) == ("Dana", "Reyes")
    assert nobody is None


def test_enrichment_returns_firmographics_for_the_domain(serve: Serve) -> None:
    with serve() as (url, _), client_for(url) as client:
        organization = client.enrich_organization("www.acme-robotics.example")
        twice = client.enrich_organization("acme-robotics.example")
        with pytest.raises(NotFound):
            client.enrich_organization("nowhere.invalid")

    assert organization.credits_used == 1
    assert organization.primary_domain == "acme-robotics.example"
    assert organization.name == "Acme Robotics"
    assert organization.industry
    assert organization.estimated_num_employees
    assert organization.founded_year
    assert organization.technology_names
    assert organization.model_dump() == twice.model_dump()


def test_every_answer_carries_the_rate_limit_headers(serve: Serve) -> None:
    gate = HeaderGate()
    with serve(apollo_requests_per_minute=50) as (url, _), client_for(url, gate=gate) as client:
        client.search_people(PeopleSearch())
        client.search_people(PeopleSearch(page=2))
        stats = client.api_usage_stats()

    first, second, _ = gate.outcomes
    for header in RATE_LIMIT_HEADERS:
        assert header in first.headers
    assert first.headers["x-rate-limit-minute"] == "50"
    assert first.headers["x-rate-limit-hourly"] == "6000"
    assert first.headers["x-rate-limit-24-hour"] == "50000"
    assert (first.headers["x-minute-usage"], second.headers["x-minute-usage"]) == ("1", "2")
    assert second.headers["x-minute-requests-left"] == "48"
    usage = stats.for_endpoint("mixed_people/api_search")
    assert usage is not None
    assert usage.minute is not None
    assert (usage.minute.limit, usage.minute.consumed) == (50, 2)


def test_a_spent_minute_window_defers_the_task(serve: Serve) -> None:
    with (
        serve(apollo_requests_per_minute=2) as (url, state),
        client_for(url, max_inline_wait_s=5) as client,
    ):
        client.search_people(PeopleSearch())
        client.search_people(PeopleSearch())
        started = time.monotonic()
        with pytest.raises(RateLimited) as raised:
            client.search_people(PeopleSearch())

    assert time.monotonic() - started < 1, "a long wait is not slept in the worker"
    assert isinstance(raised.value, ApolloRateLimited)
    assert 50 < raised.value.delay_s <= 60
    assert "api/v1/mixed_people/api_search is 2 times per minute" in str(raised.value)
    assert [entry["status"] for entry in state.log.entries] == [200, 200, 429]


def test_a_short_window_is_waited_out_inline(serve: Serve) -> None:
    with (
        serve(apollo_requests_per_minute=2, apollo_minute_window_s=2.0) as (url, state),
        client_for(url, max_inline_wait_s=5) as client,
    ):
        pages = [client.search_people(PeopleSearch()) for _ in range(3)]

    assert len(pages) == 3
    assert [entry["status"] for entry in state.log.entries] == [200, 200, 429, 200]


def test_the_429_answer_names_the_limit_and_the_wait(serve: Serve) -> None:
    with serve(apollo_requests_per_minute=1) as (url, _), httpx.Client(base_url=url) as http:
        headers = {"x-api-key": API_KEY}
        http.post("mixed_companies/search", json={}, headers=headers)
        limited = http.post("mixed_companies/search", json={}, headers=headers)

    assert limited.status_code == 429
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert limited.headers["x-minute-requests-left"] == "0"
    assert "is 1 times per minute" in limited.json()["message"]


def test_server_errors_are_retried_by_the_client(serve: Serve) -> None:
    with serve(failures=1) as (url, state), client_for(url) as client:
        page = client.search_organizations(OrganizationSearch(per_page=5))

    assert page.size == 5
    assert [entry["status"] for entry in state.log.entries] == [500, 200]


def test_bad_keys_and_parameters_are_refused(serve: Serve) -> None:
    with serve(apollo_api_key=API_KEY) as (url, state):
        with (
            client_for(url, api_key="wrong-key") as client,
            pytest.raises(ApolloRejected) as raised,
        ):
            client.search_people(PeopleSearch())
        with httpx.Client(base_url=url, headers={"x-api-key": API_KEY}) as http:
            too_many = http.post("mixed_companies/search", json={"per_page": 101})
            legacy = http.post("mixed_people/search", json={})

    assert raised.value.status == 401
    assert "Invalid access credentials." in str(raised.value)
    assert "wrong-key" not in str(raised.value)
    assert too_many.status_code == 422
    assert "per_page" in too_many.json()["error"]
    assert legacy.status_code == 403
    assert legacy.json()["error_code"] == "API_INACCESSIBLE"
    assert [entry["status"] for entry in state.log.entries] == [401, 422]
