"""Per request: the trace id (from ``traceparent`` or new) bound to the log context and echoed
back, request metrics by route template, and one ``http.request`` log line."""

from __future__ import annotations

import time
from typing import Any

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.metrics import FleetMetrics
from shared.tracing import new_trace_id, parse_traceparent, traceparent_for

__all__ = ["RequestObservability"]

log = structlog.get_logger(__name__)

_QUIET_ROUTES = frozenset({"/metrics", "/healthz", "/readyz"})


class RequestObservability:
    def __init__(self, app: ASGIApp, metrics: FleetMetrics) -> None:
        self._app = app
        self._metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        trace_id = parse_traceparent(headers.get(b"traceparent", b"").decode("latin-1"))
        trace_id = trace_id or new_trace_id()
        status = 500
        started = time.monotonic()

        async def send_with_trace(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                traceparent = traceparent_for(trace_id)
                if traceparent:
                    outgoing = [*message.get("headers", []), (b"traceparent", traceparent.encode())]
                    message = {**message, "headers": outgoing}
            await send(message)

        with structlog.contextvars.bound_contextvars(trace_id=trace_id):
            try:
                await self._app(scope, receive, send_with_trace)
            finally:
                self._observe(scope, status, time.monotonic() - started)

    def _observe(self, scope: Scope, status: int, elapsed_s: float) -> None:
        route = _route_template(scope)
        method = str(scope.get("method", "GET"))
        self._metrics.http_requests.labels(method, route, str(status)).inc()
        self._metrics.http_latency.labels(method, route).observe(elapsed_s)
        if route in _QUIET_ROUTES:
            return
        state = scope.get("state")
        principal: Any = state.get("principal") if isinstance(state, dict) else None
        log.info(
            "http.request",
            method=method,
            route=route,
            status=status,
            duration_ms=round(elapsed_s * 1000, 1),
            tenant_id=str(principal.tenant_id) if principal is not None else None,
        )


def _route_template(scope: Scope) -> str:
    """The matched route's path template; unmatched paths share one label value."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"
