"""A client for Apollo.io's search and enrichment API, billed in credits and rate-limited.

One instance per worker thread: it owns an ``httpx.Client`` (connection pool included), which
must be closed. The transport can be injected, so the same code runs against the sandbox
provider, ``httpx.MockTransport`` in unit tests, or the real API. Retries, timeouts and the
rate-limit gate are in :mod:`shared.apollo.http`; errors in :mod:`shared.apollo.errors`.
Credits are counted from Apollo's published prices, since responses do not report them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Protocol, Self, TypeVar

import httpx
import structlog
from pydantic import BaseModel, ValidationError

from shared.apollo.errors import PROVIDER, ApolloResponseInvalid
from shared.apollo.http import Answer, ApolloHttp
from shared.apollo.models import (
    ApiUsageStats,
    Organization,
    OrganizationPage,
    Pagination,
    PeoplePage,
    Person,
)
from shared.apollo.queries import MAX_PAGE, OrganizationSearch, PeopleSearch, PersonMatch
from shared.errors import NotFound
from shared.ratelimit.gate import CallGate, OpenGate
from shared.settings import Settings

__all__ = ["ApolloClient"]

logger = structlog.get_logger(__name__)

_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*://")


class _Result(Protocol):
    def with_usage(self, *, credits_used: int, latency_ms: int, request_id: str | None) -> Self: ...


_M = TypeVar("_M", bound=BaseModel)
_R = TypeVar("_R", bound=_Result)
_Q = TypeVar("_Q", OrganizationSearch, PeopleSearch)
_P = TypeVar("_P", OrganizationPage, PeoplePage)


class ApolloClient:
    """Searches and enriches companies and people at ``{base_url}`` (``.../api/v1``)."""

    provider = PROVIDER

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str,
        connect_timeout_s: float,
        read_timeout_s: float,
        total_timeout_s: float,
        max_attempts: int,
        max_inline_wait_s: float = 5.0,
        gate: CallGate | None = None,
        credential_key: str = "platform",
        tenant_id: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = ApolloHttp(
            base_url=base_url,
            api_key=api_key,
            connect_timeout_s=connect_timeout_s,
            read_timeout_s=read_timeout_s,
            total_timeout_s=total_timeout_s,
            max_attempts=max_attempts,
            max_inline_wait_s=max_inline_wait_s,
            gate=gate or OpenGate(),
            credential_key=credential_key,
            tenant_id=tenant_id,
            transport=transport,
        )

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        *,
        api_key: str | None = None,
        gate: CallGate | None = None,
        credential_key: str = "platform",
        tenant_id: str | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> ApolloClient:
        """A client configured from the ``apollo_*`` settings (timeouts: the ``llm_*`` ones)."""
        return cls(
            base_url=settings.apollo_base_url,
            api_key=api_key or settings.apollo_api_key.get_secret_value(),
            connect_timeout_s=settings.llm_connect_timeout_s,
            read_timeout_s=settings.llm_read_timeout_s,
            total_timeout_s=settings.llm_total_timeout_s,
            max_attempts=settings.llm_max_attempts,
            max_inline_wait_s=settings.llm_max_inline_wait_s,
            gate=gate,
            credential_key=credential_key,
            tenant_id=tenant_id,
            transport=transport,
        )

    def search_organizations(self, query: OrganizationSearch) -> OrganizationPage:
        """One page of companies matching ``query`` (1 credit per page)."""
        endpoint = "mixed_companies/search"
        answer = self._http.call("POST", endpoint, body=query.body())
        page = _parse(OrganizationPage, answer.body, answer, endpoint)
        return self._settled(page, answer, endpoint, credits_used=1)

    def search_people(self, query: PeopleSearch) -> PeoplePage:
        """One page of people matching ``query`` (0 credits; no emails or phones)."""
        endpoint = "mixed_people/api_search"
        answer = self._http.call("POST", endpoint, body=query.body())
        body = dict(answer.body)
        if not isinstance(body.get("pagination"), dict):
            # api_search reports only total_entries; the page is the one asked for.
            total = body.get("total_entries")
            total = total if isinstance(total, int) and not isinstance(total, bool) else 0
            body["pagination"] = Pagination(
                page=query.page,
                per_page=query.per_page,
                total_entries=total,
                total_pages=-(-total // query.per_page),
            ).model_dump()
        page = _parse(PeoplePage, body, answer, endpoint)
        return self._settled(page, answer, endpoint, credits_used=0)

    def enrich_organization(self, domain: str) -> Organization:
        """Firmographics of the company at ``domain`` (1 credit); NotFound when Apollo has none.

        Raises ``ValueError`` when ``domain`` is not a domain name.
        """
        endpoint = "organizations/enrich"
        bare = _bare_domain(domain)
        answer = self._http.call("GET", endpoint, params={"domain": bare})
        if not answer.body.get("organization"):
            self._log_call(answer, endpoint, credits_used=0)
            raise NotFound(f"{PROVIDER}: no organization found for domain {bare!r}")
        organization = _parse(Organization, answer.body["organization"], answer, endpoint)
        return self._settled(organization, answer, endpoint, credits_used=1)

    def match_person(self, query: PersonMatch) -> Person | None:
        """The person ``query`` identifies, with email (1 credit), or None (no match, 0 credits)."""
        endpoint = "people/match"
        answer = self._http.call("POST", endpoint, body=query.body())
        if not answer.body.get("person"):
            self._log_call(answer, endpoint, credits_used=0)
            return None
        person = _parse(Person, answer.body["person"], answer, endpoint)
        return self._settled(person, answer, endpoint, credits_used=1)

    def api_usage_stats(self) -> ApiUsageStats:
        """The team's rate limits and usage per endpoint (0 credits): read them at start."""
        endpoint = "usage_stats/api_usage_stats"
        answer = self._http.call("POST", endpoint, body={})
        try:
            stats = ApiUsageStats.from_body(answer.body)
        except ValidationError as exc:
            raise _invalid(answer, endpoint, exc) from None
        return self._settled(stats, answer, endpoint, credits_used=0)

    def iter_organizations(
        self, query: OrganizationSearch, *, max_pages: int
    ) -> Iterator[OrganizationPage]:
        """Pages from ``query.page`` on, until the last page or ``max_pages`` (1 credit each)."""
        return _pages(self.search_organizations, query, max_pages)

    def iter_people(self, query: PeopleSearch, *, max_pages: int) -> Iterator[PeoplePage]:
        """Pages from ``query.page`` on, until the last page or ``max_pages`` (0 credits)."""
        return _pages(self.search_people, query, max_pages)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def _settled(self, result: _R, answer: Answer, endpoint: str, *, credits_used: int) -> _R:
        self._log_call(answer, endpoint, credits_used=credits_used)
        return result.with_usage(
            credits_used=credits_used, latency_ms=answer.latency_ms, request_id=answer.request_id
        )

    def _log_call(self, answer: Answer, endpoint: str, *, credits_used: int) -> None:
        logger.debug(
            "provider.called",
            provider=PROVIDER,
            endpoint=endpoint,
            status=answer.status,
            latency_ms=answer.latency_ms,
            credits_used=credits_used,
            request_id=answer.request_id,
            tenant_id=self._http.tenant_id,
        )


def _parse(model: type[_M], data: object, answer: Answer, endpoint: str) -> _M:
    """``data`` from ``answer`` as ``model``, or ApolloResponseInvalid."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _invalid(answer, endpoint, exc) from None


def _invalid(answer: Answer, endpoint: str, exc: ValidationError) -> ApolloResponseInvalid:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "(root)"
    return ApolloResponseInvalid(
        status=answer.status,
        reason=f"unexpected response at {where}: {first['msg']}",
        endpoint=endpoint,
    )


def _pages(fetch: Callable[[_Q], _P], query: _Q, max_pages: int) -> Iterator[_P]:
    if max_pages < 1:
        raise ValueError("max_pages must be at least 1")
    return _fetch_pages(fetch, query, max_pages)


def _fetch_pages(fetch: Callable[[_Q], _P], query: _Q, max_pages: int) -> Iterator[_P]:
    number = query.page
    for _ in range(max_pages):
        page = fetch(query.at_page(number))
        yield page
        last = min(page.pagination.total_pages, MAX_PAGE)
        if number >= last or page.size == 0:
            return
        number += 1


def _bare_domain(domain: str) -> str:
    """``domain`` as Apollo wants it: no scheme, ``www.``, path or ``@``."""
    bare = _SCHEME.sub("", domain.strip().lower()).split("/", 1)[0].rsplit("@", 1)[-1]
    bare = bare.removeprefix("www.")
    if "." not in bare or any(char.isspace() for char in bare):
        raise ValueError(f"{domain!r} is not a domain name")
    return bare
