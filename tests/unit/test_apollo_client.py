"""The Apollo client against scripted provider answers (httpx.MockTransport)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from structlog.testing import capture_logs

from shared.apollo import (
    ApolloClient,
    ApolloRateLimited,
    ApolloRejected,
    ApolloResponseInvalid,
    ApolloUnavailable,
    OrganizationSearch,
    PeopleSearch,
    PersonMatch,
    RevenueRange,
)
from shared.errors import (
    NotFound,
    PermanentError,
    ProviderRejected,
    RateLimited,
    TransientError,
)
from shared.ratelimit.gate import CallOutcome, CallPermit
from shared.settings import Settings

pytestmark = pytest.mark.unit

API_KEY = "apollo-unit-test-secret-0123456789"
BASE_URL = "https://apollo.example/api/v1"
LIMIT_HEADERS = {
    "x-rate-limit-minute": "200",
    "x-minute-usage": "7",
    "x-minute-requests-left": "193",
    "x-24-hour-requests-left": "49000",
}

Handler = Callable[[httpx.Request], httpx.Response]
ClientFactory = Callable[..., ApolloClient]


class ScriptedApollo:
    """Answers requests from a script, one step per request (the last step repeats)."""

    def __init__(self, *steps: httpx.Response | Exception) -> None:
        self._script = list(steps)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        step = self._script.pop(0) if len(self._script) > 1 else self._script[0]
        if isinstance(step, Exception):
            raise step
        return step

    def bodies(self) -> list[Any]:
        return [json.loads(request.content) for request in self.requests]


class RecordingGate:
    """A gate that admits every call and remembers what it was told."""

    def __init__(self, refuse: RateLimited | None = None) -> None:
        self.acquired: list[dict[str, Any]] = []
        self.released: list[tuple[CallPermit, CallOutcome]] = []
        self._refuse = refuse

    def acquire(
        self, *, provider: str, credential_key: str, tenant_id: str | None, estimated_tokens: int
    ) -> CallPermit:
        if self._refuse is not None:
            raise self._refuse
        self.acquired.append(
            {
                "provider": provider,
                "credential_key": credential_key,
                "tenant_id": tenant_id,
                "estimated_tokens": estimated_tokens,
            }
        )
        return CallPermit(provider, credential_key, tenant_id, estimated_tokens)

    def release(self, permit: CallPermit, outcome: CallOutcome) -> None:
        self.released.append((permit, outcome))


def ok(body: Any, **headers: str) -> httpx.Response:
    return httpx.Response(200, json=body, headers={**LIMIT_HEADERS, **headers})


def organization(number: int, **fields: Any) -> dict[str, Any]:
    return {
        "id": f"org{number:021d}",
        "name": f"Company {number}",
        "website_url": f"http://www.company{number}.com",
        "primary_domain": f"company{number}.com",
        "organization_revenue": 2_000_000,
        "show_intent": True,
        "has_intent_signal_account": False,
        "intent_signal_account": None,
        "phone": "+1 555 0100",
        **fields,
    }


def org_page(page: int, total_pages: int, *, per_page: int = 2) -> dict[str, Any]:
    organizations = [organization(page * 10 + n) for n in range(per_page)]
    pagination = {
        "page": page,
        "per_page": per_page,
        "total_entries": 0,
        "total_pages": total_pages,
    }
    pagination["total_entries"] = total_pages * per_page
    return {"pagination": pagination, "organizations": organizations, "breadcrumbs": []}


@pytest.fixture
def make_client() -> Iterator[ClientFactory]:
    clients: list[ApolloClient] = []

    def make(handler: Handler, **overrides: Any) -> ApolloClient:
        options: dict[str, Any] = {
            "base_url": BASE_URL,
            "api_key": API_KEY,
            "connect_timeout_s": 1.0,
            "read_timeout_s": 2.0,
            "total_timeout_s": 10.0,
            "max_attempts": 3,
            "max_inline_wait_s": 1.0,
            **overrides,
        }
        client = ApolloClient(**options, transport=httpx.MockTransport(handler))
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


def test_organization_search_sends_filters_and_parses_the_page(
    make_client: ClientFactory,
) -> None:
    provider = ScriptedApollo(ok(org_page(1, 4), **{"x-request-id": "req-1"}))
    query = OrganizationSearch(
        organization_num_employees_ranges=["51,200"],
        organization_locations=["United States"],
        revenue_range=RevenueRange(min=1_000_000, max=50_000_000),
        currently_using_any_of_technology_uids=["salesforce"],
        per_page=2,
    )

    page = make_client(provider).search_organizations(query)

    [request] = provider.requests
    assert request.method == "POST"
    assert str(request.url) == f"{BASE_URL}/mixed_companies/search"
    assert request.headers["x-api-key"] == API_KEY
    assert request.headers["content-type"] == "application/json"
    assert request.headers["cache-control"] == "no-cache"
    assert json.loads(request.content) == {
        "organization_num_employees_ranges": ["51,200"],
        "organization_locations": ["United States"],
        "revenue_range": {"min": 1_000_000, "max": 50_000_000},
        "currently_using_any_of_technology_uids": ["salesforce"],
        "page": 1,
        "per_page": 2,
    }
    assert (page.credits_used, page.request_id) == (1, "req-1")
    assert page.latency_ms >= 0
    assert page.pagination.total_pages == 4
    first = page.organizations[0]
    assert (first.name, first.primary_domain, first.annual_revenue) == (
        "Company 10",
        "company10.com",
        2_000_000,
    )
    assert first.show_intent is True
    assert "credits_used" not in first.model_dump(), "usage is not part of Apollo's data"


def test_people_search_is_free_and_reads_total_entries(make_client: ClientFactory) -> None:
    person = {
        "id": "p1",
        "first_name": "Dana",
        "last_name_obfuscated": "Re***s",
        "title": "VP of Sales",
        "email": "email_not_unlocked@domain.com",
        "has_email": True,
        "organization": {"name": "Acme", "has_industry": True, "has_revenue": False},
    }
    provider = ScriptedApollo(ok({"total_entries": 230, "people": [person]}))
    query = PeopleSearch(person_titles=["VP of Sales"], person_seniorities=["vp"], per_page=100)

    page = make_client(provider).search_people(query)

    [request] = provider.requests
    assert request.url.path == "/api/v1/mixed_people/api_search"
    assert provider.bodies()[0]["person_seniorities"] == ["vp"]
    assert page.credits_used == 0
    assert (page.pagination.total_entries, page.pagination.total_pages) == (230, 3)
    [found] = page.people
    assert (found.last_name_obfuscated, found.email, found.has_email) == ("Re***s", None, True)
    assert found.organization is not None
    assert found.organization.has_revenue is False


def test_enrichment_asks_for_the_bare_domain(make_client: ClientFactory) -> None:
    body = {
        "organization": organization(
            1,
            industry="computer software",
            estimated_num_employees=120,
            annual_revenue=9_000_000,
            technology_names=["Salesforce"],
            current_technologies=[{"uid": "salesforce", "name": "Salesforce", "category": "CRM"}],
            city="Austin",
            country="United States",
        )
    }
    provider = ScriptedApollo(ok(body))

    found = make_client(provider).enrich_organization("https://www.Company1.com/about")

    [request] = provider.requests
    assert request.method == "GET"
    assert request.url.path == "/api/v1/organizations/enrich"
    assert request.url.params["domain"] == "company1.com"
    assert found.credits_used == 1
    assert (found.industry, found.estimated_num_employees, found.city) == (
        "computer software",
        120,
        "Austin",
    )
    assert [tech.uid for tech in found.technologies] == ["salesforce"]


def test_enrichment_of_an_unknown_domain_is_not_found(make_client: ClientFactory) -> None:
    client = make_client(ScriptedApollo(ok({})))
    with pytest.raises(NotFound, match=r"nowhere\.example"):
        client.enrich_organization("nowhere.example")
    with pytest.raises(ValueError, match="not a domain"):
        client.enrich_organization("not a domain")


def test_person_match_returns_the_email_and_costs_a_credit(make_client: ClientFactory) -> None:
    person = {"id": "p9", "name": "Dana Reyes", "email": "dana@acme.example"}
    person |= {"email_status": "verified", "organization_id": "o1", "title": "VP of Sales"}
    provider = ScriptedApollo(ok({"person": person}), ok({"person": None}))
    client = make_client(provider)

    matched = client.match_person(
        PersonMatch(first_name="Dana", last_name="Reyes", domain="acme.example")
    )
    missing = client.match_person(PersonMatch(email="ghost@acme.example"))

    assert matched is not None
    assert (matched.email, matched.email_status, matched.credits_used) == (
        "dana@acme.example",
        "verified",
        1,
    )
    assert missing is None
    first, second = provider.bodies()
    assert first == {
        "first_name": "Dana",
        "last_name": "Reyes",
        "domain": "acme.example",
        "reveal_personal_emails": False,
    }
    assert second["email"] == "ghost@acme.example"
    assert provider.requests[0].url.path == "/api/v1/people/match"


def test_queries_apollo_would_refuse_fail_before_sending() -> None:
    with pytest.raises(ValidationError):
        OrganizationSearch(per_page=101)
    with pytest.raises(ValidationError):
        OrganizationSearch(organization_num_employees_ranges=["51-200"])
    with pytest.raises(ValidationError):
        PeopleSearch(person_seniorities=["emperor"])
    with pytest.raises(ValidationError, match="needs an id"):
        PersonMatch(organization_name="Acme")
    with pytest.raises(ValidationError):
        RevenueRange(min=10, max=5)


def test_pagination_stops_at_the_last_page(make_client: ClientFactory) -> None:
    provider = ScriptedApollo(ok(org_page(1, 3)), ok(org_page(2, 3)), ok(org_page(3, 3)))
    client = make_client(provider)

    pages = list(client.iter_organizations(OrganizationSearch(per_page=2), max_pages=10))

    assert [page.pagination.page for page in pages] == [1, 2, 3]
    assert [body["page"] for body in provider.bodies()] == [1, 2, 3]
    assert sum(page.credits_used for page in pages) == 3


def test_pagination_stops_at_max_pages(make_client: ClientFactory) -> None:
    provider = ScriptedApollo(ok(org_page(5, 50)), ok(org_page(6, 50)))
    client = make_client(provider)

    pages = list(client.iter_organizations(OrganizationSearch(page=5, per_page=2), max_pages=2))

    assert [body["page"] for body in provider.bodies()] == [5, 6]
    assert len(pages) == 2
    with pytest.raises(ValueError, match="max_pages"):
        client.iter_people(PeopleSearch(), max_pages=0)


def test_people_pagination_stops_at_an_empty_page(make_client: ClientFactory) -> None:
    person = {"id": "p1", "first_name": "Dana"}
    provider = ScriptedApollo(
        ok({"total_entries": 500, "people": [person]}), ok({"total_entries": 500, "people": []})
    )

    pages = list(make_client(provider).iter_people(PeopleSearch(per_page=1), max_pages=10))

    assert [page.size for page in pages] == [1, 0]


@pytest.mark.parametrize(
    ("response", "reason"),
    [
        (httpx.Response(401, text="Invalid access credentials."), "Invalid access credentials."),
        (
            httpx.Response(
                403,
                json={"error": "not accessible on a free plan", "error_code": "API_INACCESSIBLE"},
            ),
            "API_INACCESSIBLE: not accessible on a free plan",
        ),
        (
            httpx.Response(422, json={"error": f"invalid per_page for key {API_KEY}"}),
            "invalid per_page for key ***",
        ),
    ],
)
def test_refusals_are_not_retried_and_never_show_the_key(
    make_client: ClientFactory, response: httpx.Response, reason: str
) -> None:
    provider = ScriptedApollo(response)

    with pytest.raises(ProviderRejected) as raised:
        make_client(provider).search_organizations(OrganizationSearch())

    assert len(provider.requests) == 1
    assert isinstance(raised.value, ApolloRejected)
    message = str(raised.value)
    assert message.startswith(f"apollo: status {response.status_code}: ")
    assert reason in message
    assert "mixed_companies/search" in message
    assert API_KEY not in message


def test_short_429_waits_out_retry_after_then_succeeds(make_client: ClientFactory) -> None:
    message = "The maximum number of api calls allowed for api/v1/mixed_companies/search is 200"
    limited = httpx.Response(429, json={"message": message}, headers={"retry-after": "0.2"})
    provider = ScriptedApollo(limited, ok(org_page(1, 1)))

    started = time.monotonic()
    page = make_client(provider).search_organizations(OrganizationSearch())

    assert time.monotonic() - started >= 0.2
    assert len(provider.requests) == 2
    assert page.credits_used == 1


def test_long_429_is_raised_for_deferral(make_client: ClientFactory) -> None:
    message = (
        "The maximum number of api calls allowed for api/v1/mixed_people/api_search "
        "is 600 times per hour. Please upgrade your plan."
    )
    limited = httpx.Response(429, json={"message": message}, headers={"retry-after": "1800"})
    provider = ScriptedApollo(limited)

    started = time.monotonic()
    with pytest.raises(RateLimited) as raised:
        make_client(provider, max_inline_wait_s=5).search_people(PeopleSearch())

    assert time.monotonic() - started < 1, "a worker thread must not sleep out a long limit"
    assert len(provider.requests) == 1
    assert isinstance(raised.value, ApolloRateLimited)
    assert raised.value.delay_s == pytest.approx(1800)
    assert "600 times per hour" in str(raised.value)


def test_429_without_retry_after_waits_for_the_spent_window(make_client: ClientFactory) -> None:
    headers = {"x-minute-requests-left": "0", "x-hourly-requests-left": "12"}
    provider = ScriptedApollo(httpx.Response(429, json={"message": "limit"}, headers=headers))

    with pytest.raises(ApolloRateLimited) as raised:
        make_client(provider).search_people(PeopleSearch())

    assert raised.value.delay_s == 60
    assert raised.value.retry_after_s is None


def test_server_errors_are_retried(make_client: ClientFactory) -> None:
    provider = ScriptedApollo(httpx.Response(500, json={"error": "oops"}), ok(org_page(1, 1)))

    with capture_logs() as logs:
        page = make_client(provider).search_organizations(OrganizationSearch())

    assert page.size == 2
    assert len(provider.requests) == 2
    [retry] = [entry for entry in logs if entry["event"] == "provider.retry"]
    assert (retry["provider"], retry["status"], retry["attempt"]) == ("apollo", 500, 1)
    assert API_KEY not in repr(logs)


def test_persistent_failures_end_in_a_transient_error(make_client: ClientFactory) -> None:
    refused = httpx.ConnectError(f"connection refused (key {API_KEY})")
    provider = ScriptedApollo(httpx.ReadTimeout("slow"), refused)

    with pytest.raises(TransientError) as raised:
        make_client(provider).match_person(PersonMatch(email="dana@acme.example"))

    assert len(provider.requests) == 3
    assert isinstance(raised.value, ApolloUnavailable)
    assert raised.value.status is None
    assert API_KEY not in str(raised.value)


def test_a_timeout_is_retried(make_client: ClientFactory) -> None:
    provider = ScriptedApollo(httpx.ReadTimeout("slow"), ok({"person": {"id": "p1"}}))

    person = make_client(provider).match_person(PersonMatch(email="dana@acme.example"))

    assert person is not None
    assert person.id == "p1"
    assert len(provider.requests) == 2


@pytest.mark.parametrize(
    "response",
    [
        httpx.Response(200, text="<html>gateway</html>"),
        httpx.Response(200, json=[1, 2]),
        httpx.Response(200, json={"organizations": "none", "pagination": {}}),
    ],
)
def test_unreadable_success_is_a_permanent_error_not_a_second_charge(
    make_client: ClientFactory, response: httpx.Response
) -> None:
    provider = ScriptedApollo(response)

    with pytest.raises(PermanentError) as raised:
        make_client(provider).search_organizations(OrganizationSearch())

    assert isinstance(raised.value, ApolloResponseInvalid)
    assert str(raised.value).startswith("apollo: status 200: ")
    assert len(provider.requests) == 1


def test_the_gate_sees_every_attempt_and_its_headers(make_client: ClientFactory) -> None:
    gate = RecordingGate()
    provider = ScriptedApollo(
        httpx.ReadTimeout("slow"), httpx.Response(503, headers=LIMIT_HEADERS), ok(org_page(1, 1))
    )
    client = make_client(provider, gate=gate, credential_key="cred-7", tenant_id="tenant-3")

    client.search_organizations(OrganizationSearch())

    assert (
        gate.acquired
        == [
            {
                "provider": "apollo",
                "credential_key": "cred-7/mixed_companies/search",
                "tenant_id": "tenant-3",
                "estimated_tokens": 0,
            }
        ]
        * 3
    )
    assert [outcome.status for _, outcome in gate.released] == [None, 503, 200]
    assert gate.released[2][1].headers["x-minute-requests-left"] == "193"
    assert gate.released[1][1].headers["x-rate-limit-minute"] == "200"


def test_the_gate_hears_the_wait_a_429_asks_for(make_client: ClientFactory) -> None:
    gate = RecordingGate()
    limited = httpx.Response(429, json={"message": "limit"}, headers={"retry-after": "90"})

    with pytest.raises(ApolloRateLimited):
        make_client(ScriptedApollo(limited), gate=gate).search_people(PeopleSearch())

    [(_, outcome)] = gate.released
    assert (outcome.status, outcome.retry_after_s) == (429, 90)


def test_a_gate_refusal_defers_without_calling_apollo(make_client: ClientFactory) -> None:
    gate = RecordingGate(refuse=RateLimited("apollo minute window full", delay_s=42))
    provider = ScriptedApollo(ok(org_page(1, 1)))

    with pytest.raises(RateLimited) as raised:
        make_client(provider, gate=gate).search_organizations(OrganizationSearch())

    assert raised.value.delay_s == 42
    assert provider.requests == []


def test_usage_stats_are_read_per_endpoint(make_client: ClientFactory) -> None:
    windows = {
        "minute": {"limit": 200, "consumed": 3, "left_over": 197},
        "hour": {"limit": 400, "consumed": 3, "left_over": 397},
        "day": {"limit": 2000, "consumed": 3, "left_over": 1997},
    }
    body = {json.dumps(["api/v1/mixed_people", "api_search"]): windows}
    provider = ScriptedApollo(ok(body))

    stats = make_client(provider).api_usage_stats()

    usage = stats.for_endpoint("mixed_people/api_search")
    assert usage is not None
    assert usage.hour is not None
    assert (usage.hour.limit, usage.hour.left_over) == (400, 397)
    assert stats.credits_used == 0
    assert provider.requests[0].url.path == "/api/v1/usage_stats/api_usage_stats"


def test_from_settings_uses_the_apollo_settings() -> None:
    settings = Settings(
        encryption_key="k" * 32,
        apollo_base_url="https://settings.example/api/v1",
        apollo_api_key=API_KEY,
    )
    provider = ScriptedApollo(ok(org_page(1, 1)))
    with ApolloClient.from_settings(
        settings, tenant_id="tenant-1", transport=httpx.MockTransport(provider)
    ) as client:
        client.search_organizations(OrganizationSearch())
    [request] = provider.requests
    assert str(request.url) == "https://settings.example/api/v1/mixed_companies/search"
    assert request.headers["x-api-key"] == API_KEY
