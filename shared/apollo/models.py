"""What Apollo answers, as typed models: organizations, people, pages and usage stats.

Only the fields agents use are declared; Apollo sends many more, which are ignored. Every
result also carries the usage of the call that produced it (``credits_used``, ``latency_ms``,
``request_id``), kept out of ``model_dump`` so stored records hold Apollo's data only.
"""

from __future__ import annotations

import json
from typing import Annotated, Any, Self

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    field_validator,
)

__all__ = [
    "ApiUsageStats",
    "EndpointUsage",
    "Organization",
    "OrganizationPage",
    "Pagination",
    "PeoplePage",
    "Person",
    "PersonOrganization",
    "Technology",
    "UsageWindow",
]

# Apollo's stand-in for an email that the search did not reveal (no credit spent on it).
_LOCKED_EMAIL_MARKER = "email_not_unlocked"


def _none_as_empty(value: object) -> object:
    return [] if value is None else value


StringList = Annotated[list[str], BeforeValidator(_none_as_empty)]


class _ApolloModel(BaseModel):
    model_config = ConfigDict(extra="ignore")


class _CallResult(_ApolloModel):
    """A result that remembers the usage of the call that returned it."""

    _credits_used: int = PrivateAttr(default=0)
    _latency_ms: int = PrivateAttr(default=0)
    _request_id: str | None = PrivateAttr(default=None)

    @property
    def credits_used(self) -> int:
        """Apollo credits the call spent (counted from Apollo's published prices)."""
        return self._credits_used

    @property
    def latency_ms(self) -> int:
        """Time of the successful HTTP attempt, in milliseconds."""
        return self._latency_ms

    @property
    def request_id(self) -> str | None:
        """The provider's request id, when it sent one."""
        return self._request_id

    def with_usage(self, *, credits_used: int, latency_ms: int, request_id: str | None) -> Self:
        """This result, marked with the usage of the call that produced it."""
        self._credits_used = credits_used
        self._latency_ms = latency_ms
        self._request_id = request_id
        return self


class Technology(_ApolloModel):
    """One technology Apollo detected in a company's stack."""

    uid: str | None = None
    name: str | None = None
    category: str | None = None


class Organization(_CallResult):
    """A company: firmographics, technologies and intent signals."""

    id: str
    name: str | None = None
    website_url: str | None = None
    primary_domain: str | None = None
    linkedin_url: str | None = None
    founded_year: int | None = None
    industry: str | None = None
    keywords: StringList = Field(default_factory=list)
    estimated_num_employees: int | None = None
    annual_revenue: float | None = Field(
        default=None, validation_alias=AliasChoices("annual_revenue", "organization_revenue")
    )
    city: str | None = None
    state: str | None = None
    country: str | None = None
    technology_names: StringList = Field(default_factory=list)
    technologies: Annotated[list[Technology], BeforeValidator(_none_as_empty)] = Field(
        default_factory=list,
        validation_alias=AliasChoices("current_technologies", "technologies"),
    )
    show_intent: bool | None = None
    has_intent_signal_account: bool | None = None
    intent_signal_account: dict[str, Any] | None = None


class PersonOrganization(_ApolloModel):
    """The employer embedded in a person (search returns only its name and ``has_*`` flags)."""

    id: str | None = None
    name: str | None = None
    website_url: str | None = None
    primary_domain: str | None = None
    linkedin_url: str | None = None
    industry: str | None = None
    estimated_num_employees: int | None = None
    has_industry: bool | None = None
    has_revenue: bool | None = None
    has_employee_count: bool | None = None


class Person(_CallResult):
    """A person: search fills the obfuscated fields, a match the full ones."""

    id: str
    first_name: str | None = None
    last_name: str | None = None
    last_name_obfuscated: str | None = None
    name: str | None = None
    title: str | None = None
    headline: str | None = None
    email: str | None = None
    email_status: str | None = None
    linkedin_url: str | None = None
    organization_id: str | None = None
    seniority: str | None = None
    departments: StringList = Field(default_factory=list)
    city: str | None = None
    state: str | None = None
    country: str | None = None
    has_email: bool | None = None
    has_direct_phone: bool | None = None
    last_refreshed_at: str | None = None
    organization: PersonOrganization | None = None

    @field_validator("email")
    @classmethod
    def _locked_email_is_none(cls, value: str | None) -> str | None:
        return None if value and _LOCKED_EMAIL_MARKER in value else value


class Pagination(_ApolloModel):
    """Where a page sits in the whole result set."""

    page: int = 1
    per_page: int = 0
    total_entries: int = 0
    total_pages: int = 0


class OrganizationPage(_CallResult):
    """One page of ``POST /mixed_companies/search`` (1 credit)."""

    organizations: Annotated[list[Organization], BeforeValidator(_none_as_empty)] = Field(
        default_factory=list
    )
    pagination: Pagination = Field(default_factory=Pagination)

    @property
    def size(self) -> int:
        """How many organizations this page holds."""
        return len(self.organizations)


class PeoplePage(_CallResult):
    """One page of ``POST /mixed_people/api_search`` (0 credits, no emails)."""

    people: Annotated[list[Person], BeforeValidator(_none_as_empty)] = Field(default_factory=list)
    pagination: Pagination = Field(default_factory=Pagination)

    @property
    def size(self) -> int:
        """How many people this page holds."""
        return len(self.people)


class UsageWindow(_ApolloModel):
    """One fixed window of an endpoint's rate limit."""

    limit: int | None = None
    consumed: int | None = None
    left_over: int | None = None


class EndpointUsage(_ApolloModel):
    """The minute, hour and day windows of one endpoint."""

    minute: UsageWindow | None = None
    hour: UsageWindow | None = None
    day: UsageWindow | None = None


class ApiUsageStats(_CallResult):
    """``POST /usage_stats/api_usage_stats`` (0 credits): limits per endpoint."""

    endpoints: dict[str, EndpointUsage] = Field(default_factory=dict)

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> ApiUsageStats:
        """Read Apollo's map, keyed by a JSON array such as ``["api/v1/contacts", "search"]``."""
        endpoints = {
            _endpoint_name(key): EndpointUsage.model_validate(value)
            for key, value in body.items()
            if isinstance(value, dict)
        }
        return cls(endpoints=endpoints)

    def for_endpoint(self, path: str) -> EndpointUsage | None:
        """The windows of ``path`` (``mixed_people/api_search`` or ``api/v1/...``), if listed."""
        path = path.strip("/")
        return self.endpoints.get(path) or self.endpoints.get(f"api/v1/{path}")


def _endpoint_name(key: str) -> str:
    try:
        parts = json.loads(key)
    except ValueError:
        return key.strip("/")
    if isinstance(parts, list) and all(isinstance(part, str) for part in parts):
        return "/".join(part.strip("/") for part in parts)
    return key.strip("/")
