"""Apollo.io access: company and people search, enrichment, and their typed results."""

from shared.apollo.client import ApolloClient
from shared.apollo.errors import (
    ApolloRateLimited,
    ApolloRejected,
    ApolloResponseInvalid,
    ApolloUnavailable,
)
from shared.apollo.models import (
    ApiUsageStats,
    EndpointUsage,
    Organization,
    OrganizationPage,
    Pagination,
    PeoplePage,
    Person,
    PersonOrganization,
    Technology,
    UsageWindow,
)
from shared.apollo.queries import (
    OrganizationSearch,
    PeopleSearch,
    PersonMatch,
    RevenueRange,
    Seniority,
)
from shared.apollo.wire import RATE_LIMIT_HEADERS

__all__ = [
    "RATE_LIMIT_HEADERS",
    "ApiUsageStats",
    "ApolloClient",
    "ApolloRateLimited",
    "ApolloRejected",
    "ApolloResponseInvalid",
    "ApolloUnavailable",
    "EndpointUsage",
    "Organization",
    "OrganizationPage",
    "OrganizationSearch",
    "Pagination",
    "PeoplePage",
    "PeopleSearch",
    "Person",
    "PersonMatch",
    "PersonOrganization",
    "RevenueRange",
    "Seniority",
    "Technology",
    "UsageWindow",
]
