"""What agents ask Apollo: search filters and person-match inputs, validated before sending.

A query that Apollo would refuse with a 422 (``per_page`` above 100, a malformed headcount
range) fails here instead, before a rate-limit slot or a credit is spent.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "MAX_PAGE",
    "MAX_PER_PAGE",
    "OrganizationSearch",
    "PeopleSearch",
    "PersonMatch",
    "RevenueRange",
    "Seniority",
]

MAX_PER_PAGE = 100
# Apollo displays at most 50,000 results: 100 per page times 500 pages.
MAX_PAGE = 500
MAX_DOMAINS = 1_000

Seniority = Literal[
    "owner",
    "founder",
    "c_suite",
    "partner",
    "vp",
    "head",
    "director",
    "manager",
    "senior",
    "entry",
    "intern",
]
Page = Annotated[int, Field(ge=1, le=MAX_PAGE)]
PerPage = Annotated[int, Field(ge=1, le=MAX_PER_PAGE)]
# "min,max" employees, e.g. "51,200"; an empty max is open-ended ("10001,").
EmployeeRange = Annotated[str, Field(pattern=r"^\d+,\d*$")]


class _Query(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def body(self) -> dict[str, Any]:
        """The JSON body Apollo expects: unset filters are left out."""
        return self.model_dump(exclude_none=True)


class _Paged(_Query):
    page: Page = 1
    per_page: PerPage = 25

    def at_page(self, page: int) -> Self:
        """The same query for another page."""
        return self.model_copy(update={"page": page})


class RevenueRange(_Query):
    """Annual revenue bounds in US dollars; either end may be open."""

    min: int | None = Field(default=None, ge=0)
    max: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError("revenue_range.min must not exceed revenue_range.max")
        return self


class OrganizationSearch(_Paged):
    """Filters of ``POST /mixed_companies/search`` (1 credit per page)."""

    q_organization_domains_list: list[str] | None = Field(default=None, max_length=MAX_DOMAINS)
    organization_num_employees_ranges: list[EmployeeRange] | None = None
    organization_locations: list[str] | None = None
    organization_not_locations: list[str] | None = None
    revenue_range: RevenueRange | None = None
    currently_using_any_of_technology_uids: list[str] | None = None
    q_organization_keyword_tags: list[str] | None = None
    q_organization_name: str | None = None


class PeopleSearch(_Paged):
    """Filters of ``POST /mixed_people/api_search`` (0 credits; answers carry no emails)."""

    person_titles: list[str] | None = None
    include_similar_titles: bool | None = None
    q_keywords: str | None = None
    person_locations: list[str] | None = None
    person_seniorities: list[Seniority] | None = None
    organization_locations: list[str] | None = None
    q_organization_domains_list: list[str] | None = Field(default=None, max_length=MAX_DOMAINS)
    contact_email_status: list[str] | None = None
    organization_ids: list[str] | None = None
    organization_num_employees_ranges: list[EmployeeRange] | None = None


class PersonMatch(_Query):
    """Inputs of ``POST /people/match`` (1 credit when a person is found, 0 otherwise).

    Apollo matches on whatever identifies a person; at least an id, an email, a LinkedIn URL
    or a name is required.
    """

    first_name: str | None = None
    last_name: str | None = None
    name: str | None = None
    email: str | None = None
    organization_name: str | None = None
    domain: str | None = None
    id: str | None = None
    linkedin_url: str | None = None
    reveal_personal_emails: bool = False

    @model_validator(mode="after")
    def _identifies_someone(self) -> Self:
        named = self.name or (self.first_name and self.last_name)
        if not (self.id or self.email or self.linkedin_url or named):
            raise ValueError(
                "a person match needs an id, an email, a linkedin_url, "
                "a name, or a first_name with a last_name"
            )
        return self
