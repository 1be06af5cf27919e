"""The ideal customer profile as an Apollo organization search: pure functions, no I/O."""

from __future__ import annotations

import re

from pydantic import ValidationError

from shared.agents.config import LeadSourceConfig
from shared.apollo import Organization, OrganizationSearch, RevenueRange
from shared.errors import PermanentError
from shared.task_inputs import IcpOverride, SourceLeadsInput

__all__ = ["organization_domain", "organization_query", "pages_to_fetch", "technology_uid"]

_NOT_UID = re.compile(r"[^a-z0-9]+")
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://")


def technology_uid(name: str) -> str:
    """Apollo's technology uid for a name: ``"Google Analytics"`` → ``"google_analytics"``."""
    return _NOT_UID.sub("_", name.strip().lower()).strip("_")


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(v for v in values if v))


def organization_query(
    config: LeadSourceConfig, override: IcpOverride | None, *, per_page: int
) -> OrganizationSearch:
    """The search for ``config``'s ICP, each filter replaced by the override's when it is set.

    Industries and keywords both become keyword tags (Apollo files industries under them);
    an empty filter is left out. An override that makes the query invalid (revenue bounds
    the wrong way round) fails the task.
    """
    icp = override or IcpOverride()

    def pick(own: list[str] | None, configured: list[str]) -> list[str]:
        return own if own is not None else configured

    tags = _unique([*pick(icp.industries, config.industries), *pick(icp.keywords, config.keywords)])
    technologies = _unique([technology_uid(t) for t in pick(icp.technologies, config.technologies)])
    revenue_min = icp.revenue_min if icp.revenue_min is not None else config.revenue_range.min
    revenue_max = icp.revenue_max if icp.revenue_max is not None else config.revenue_range.max
    try:
        revenue = (
            RevenueRange(min=revenue_min, max=revenue_max)
            if revenue_min is not None or revenue_max is not None
            else None
        )
        return OrganizationSearch(
            per_page=per_page,
            q_organization_keyword_tags=tags or None,
            organization_num_employees_ranges=_unique(
                pick(icp.employee_ranges, config.employee_ranges)
            )
            or None,
            organization_locations=_unique(pick(icp.locations, config.locations)) or None,
            currently_using_any_of_technology_uids=technologies or None,
            revenue_range=revenue,
        )
    except ValidationError as exc:
        problem = exc.errors()[0]["msg"].removeprefix("Value error, ")
        raise PermanentError(f"invalid ideal customer profile: {problem}") from None


def pages_to_fetch(config: LeadSourceConfig, request: SourceLeadsInput) -> int:
    """The run's page budget: the task's ``max_pages``, else the agent's ``maxPagesPerRun``."""
    return request.max_pages if request.max_pages is not None else config.max_pages_per_run


def organization_domain(organization: Organization) -> str | None:
    """The company's bare domain (from ``primary_domain``, else its website), lower case."""
    raw = organization.primary_domain or organization.website_url or ""
    bare = _SCHEME.sub("", raw.strip().lower()).split("/", 1)[0].split(":", 1)[0]
    bare = bare.removeprefix("www.").strip(".")
    if "." not in bare or any(char.isspace() for char in bare) or len(bare) > 253:
        return None
    return bare
