"""The sandbox's Apollo.io endpoints: deterministic companies and people, Apollo's limits.

Answers derive from a hash of the request's filters and the sandbox seed, so a query always
gets the same total and the same pages. Each endpoint has Apollo's three fixed windows
(minute, hour, day; each opens on its first request) and reports them in every response's
``x-rate-limit-*`` / ``x-*-usage`` / ``x-*-requests-left`` headers. For tests: a domain
ending in ``.invalid`` has no organization and matches no person, an API key starting with
``invalid`` is refused, and ``POST /_sandbox/apollo/reset`` closes every window.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from services.sandbox import apollo_data
from services.sandbox.pipeline import hang

__all__ = ["ApolloLimits", "ApolloSandboxState", "build_apollo_router"]

Json = dict[str, Any]

_LIST_FILTERS = {"person_titles", "person_locations", "person_seniorities", "organization_ids"}
_LIST_FILTERS |= {"organization_locations", "organization_not_locations", "contact_email_status"}
_LIST_FILTERS |= {"q_organization_domains_list", "q_organization_keyword_tags"}
_LIST_FILTERS |= {"organization_num_employees_ranges", "currently_using_any_of_technology_uids"}
Answer = Callable[[Json, int], Json | Response]

_API = "/api/v1"
_ENDPOINTS = ["mixed_companies/search", "mixed_people/api_search", "organizations/enrich"]
_ENDPOINTS += ["people/match", "usage_stats/api_usage_stats"]


class _Log(Protocol):
    def record(self, *, path: str, received_at: str, model: str | None, status: int) -> None: ...


class ApolloSandboxState(Protocol):
    """What the router needs from the sandbox: its config, request log and fault dice."""

    @property
    def config(self) -> Any: ...
    @property
    def log(self) -> _Log: ...
    def should_fail(self) -> bool: ...
    def take_fault(self) -> str | None: ...
    def roll(self, rate: float) -> bool: ...


@dataclass(frozen=True)
class ApolloLimits:
    """Requests per endpoint in each fixed window, and the windows' lengths (short in tests)."""

    per_minute: int = 200
    per_hour: int = 6_000
    per_day: int = 50_000
    minute_s: float = 60.0
    hour_s: float = 3_600.0
    day_s: float = 86_400.0

    @classmethod
    def from_config(cls, config: object) -> ApolloLimits:
        """Defaults, overridden by ``apollo_requests_per_minute`` etc. on the sandbox config."""
        names = {"per_minute": "requests_per_minute", "per_hour": "requests_per_hour"}
        names |= {"per_day": "requests_per_day", "minute_s": "minute_window_s"}
        names |= {"hour_s": "hour_window_s", "day_s": "day_window_s"}
        found = {field: getattr(config, f"apollo_{name}", None) for field, name in names.items()}
        return cls(**{field: value for field, value in found.items() if value is not None})


@dataclass
class _Window:
    name: str
    header: str
    limit: int
    length_s: float
    opened_at: float | None = None
    used: int = 0


class _Windows:
    """One endpoint's day, hour and minute windows (longest first: that is the one reported)."""

    def __init__(self, limits: ApolloLimits, clock: Callable[[], float] = time.monotonic) -> None:
        self.limits, self._clock = limits, clock
        self.all = (
            _Window("day", "24-hour", limits.per_day, limits.day_s),
            _Window("hour", "hourly", limits.per_hour, limits.hour_s),
            _Window("minute", "minute", limits.per_minute, limits.minute_s),
        )

    def admit(self) -> tuple[_Window, float] | None:
        """Count one request; or the spent window and the seconds until it reopens."""
        now = self._clock()
        for w in self.all:
            if w.opened_at is not None and now - w.opened_at >= w.length_s:
                w.opened_at, w.used = None, 0
        for w in self.all:
            if w.used >= w.limit:
                return w, (w.opened_at or now) + w.length_s - now
        for w in self.all:
            w.opened_at = now if w.opened_at is None else w.opened_at
            w.used += 1
        return None

    def headers(self) -> dict[str, str]:
        headers = {}
        for w in self.all:
            headers[f"x-rate-limit-{w.header}"] = str(w.limit)
            headers[f"x-{w.header}-usage"] = str(w.used)
            headers[f"x-{w.header}-requests-left"] = str(max(w.limit - w.used, 0))
        return headers


def build_apollo_router(state: ApolloSandboxState) -> APIRouter:
    """Apollo's search, enrichment and usage endpoints under ``/api/v1``, on ``state``."""
    windows = {
        endpoint: _Windows(ApolloLimits.from_config(state.config)) for endpoint in _ENDPOINTS
    }
    router = APIRouter()

    def route(endpoint: str, method: str, answer: Answer) -> None:
        async def handle(request: Request) -> Response:
            received_at = datetime.now(UTC).isoformat()
            limits = ApolloLimits.from_config(state.config)  # a scenario may change the config
            if windows[endpoint].limits != limits:
                windows[endpoint] = _Windows(limits)
            response = await _respond(request, state, windows[endpoint], endpoint, answer)
            status = response.status_code
            state.log.record(
                path=request.url.path, received_at=received_at, model=None, status=status
            )
            return response

        router.add_api_route(f"{_API}/{endpoint}", handle, methods=[method])

    route("mixed_companies/search", "POST", apollo_data.organization_page)
    route("mixed_people/api_search", "POST", apollo_data.people_page)
    route("organizations/enrich", "GET", apollo_data.enrichment)
    route("people/match", "POST", apollo_data.match)
    route("usage_stats/api_usage_stats", "POST", lambda _query, _seed: _usage(windows))

    @router.post(f"{_API}/mixed_people/search")
    async def legacy_people_search() -> Response:
        message = "api/v1/mixed_people/search is not accessible with this api_key on a free plan."
        return JSONResponse({"error": message, "error_code": "API_INACCESSIBLE"}, 403)

    @router.post("/_sandbox/apollo/reset")
    async def reset() -> Json:
        windows.update({endpoint: _Windows(w.limits) for endpoint, w in windows.items()})
        return {"status": "reset"}

    return router


async def _respond(
    request: Request, state: ApolloSandboxState, windows: _Windows, endpoint: str, answer: Answer
) -> Response:
    key = request.headers.get("x-api-key", "").strip()
    expected = getattr(state.config, "apollo_api_key", None)
    # Like the sandbox's other providers: a key starting with "invalid" is a wrong key.
    if not key or key.startswith("invalid") or (expected and key != expected):
        return PlainTextResponse("Invalid access credentials.", 401)
    spent = windows.admit()
    if spent is not None:
        window, wait_s = spent
        message = (
            f"The maximum number of api calls allowed for api/v1/{endpoint} is {window.limit} "
            f"times per {window.name}. Please upgrade your plan from "
            "https://app.apollo.io/#/settings/plans/upgrade."
        )
        headers = {**windows.headers(), "retry-after": str(max(1, math.ceil(wait_s)))}
        return JSONResponse({"message": message}, 429, headers=headers)
    headers = {**windows.headers(), "x-request-id": uuid.uuid4().hex}
    latency_ms = float(getattr(state.config, "latency_ms", 0) or 0)
    if latency_ms > 0:
        await asyncio.sleep(latency_ms / 1000)
    config = state.config
    fault = state.take_fault()
    timeout_rate = float(getattr(config, "timeout_rate", 0) or 0)
    if fault == "timeout" or state.roll(timeout_rate):
        hang_s = float(getattr(config, "hang_s", 30) or 30)
        if not await hang(request, hang_s):
            return Response(status_code=499)
    if fault == "error" or state.should_fail():
        return JSONResponse({"error": "Internal Server Error"}, 500, headers=headers)
    if fault == "malformed" or state.roll(float(getattr(config, "malformed_rate", 0) or 0)):
        return Response(b'{"organizations": [{"id": ', 200, headers, "application/json")
    query, problem = await _query(request)
    if problem is not None:
        return JSONResponse({"error": problem, "error_code": "INVALID_PARAMS"}, 422, headers)
    result = answer(query, int(getattr(config, "seed", 0) or 0))
    return result if isinstance(result, Response) else JSONResponse(result, headers=headers)


async def _query(request: Request) -> tuple[Json, str | None]:
    """Query-string and JSON-body parameters (Apollo takes both), or what is wrong with them."""
    query: Json = {}
    for key in request.query_params:
        values = request.query_params.getlist(key)
        query[key.removesuffix("[]")] = values if key.endswith("[]") else values[-1]
    raw = await request.body()
    try:
        body = json.loads(raw) if raw.strip() else {}
    except ValueError:
        return query, "request body is not valid JSON"
    if not isinstance(body, dict):
        return query, "request body must be a JSON object"
    query.update(body)
    for name, default, high in (("page", 1, 500), ("per_page", 10, 100)):
        value = query.setdefault(name, default)
        if not str(value).isdigit() or not 1 <= int(value) <= high:
            return query, f"{name} must be an integer between 1 and {high}"
        query[name] = int(value)
    for name in _LIST_FILTERS & query.keys():
        if not isinstance(query[name], list) or not all(isinstance(v, str) for v in query[name]):
            return query, f"{name} must be an array of strings"
    if not isinstance(query.get("revenue_range") or {}, dict):
        return query, "revenue_range must be an object with min and max"
    return query, None


def _usage(windows: dict[str, _Windows]) -> Json:
    """Apollo's usage map, keyed by a JSON array such as ``["api/v1/people", "match"]``."""
    stats = {}
    for endpoint, endpoint_windows in windows.items():
        folder, _, action = f"api/v1/{endpoint}".rpartition("/")
        stats[json.dumps([folder, action])] = {
            w.name: {"limit": w.limit, "consumed": w.used, "left_over": max(w.limit - w.used, 0)}
            for w in endpoint_windows.all
        }
    return stats
