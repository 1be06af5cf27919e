"""The API's composition root."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from prometheus_client import CollectorRegistry

from services.api.observability import RequestObservability
from services.api.problems import install_problem_handlers, problem_response
from services.api.routes import (
    agent_activity,
    agent_guidance,
    agent_metrics,
    agent_tasks,
    agents,
    approvals,
    credentials,
    health,
    mailboxes,
    metrics,
    replies,
    sends,
    tasks,
    tenant,
    unsubscribe,
    usage,
)
from shared.credentials import credential_cipher
from shared.db.database import Database, open_database
from shared.metrics import install_metrics
from shared.metrics.fleet_stats import FleetStatsCollector
from shared.settings import Settings

__all__ = ["create_app"]


def create_app(settings: Settings, *, db: Database | None = None) -> FastAPI:
    """Build the API; it opens its own database handle unless one is given (embedded mode)."""
    owns_db = db is None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.db = db or open_database(settings.database_url)
        yield
        if owns_db:
            app.state.db.dispose()

    app = FastAPI(title="agentfleet", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.cipher = credential_cipher(settings)
    install_problem_handlers(app)
    registry = CollectorRegistry()
    registry.register(FleetStatsCollector(lambda: getattr(app.state, "db", None)))
    app.state.metrics_registry = registry
    app.add_middleware(RequestObservability, metrics=install_metrics(registry))

    @app.middleware("http")
    async def _limit_body(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        length = request.headers.get("content-length")
        if length is not None and (
            not length.isdigit() or int(length) > settings.api_max_body_bytes
        ):
            return problem_response(
                413,
                "Payload too large",
                f"request body exceeds {settings.api_max_body_bytes} bytes",
                instance=request.url.path,
            )
        return await call_next(request)

    app.include_router(health.router)
    app.include_router(metrics.router)
    app.include_router(tasks.router)
    app.include_router(agents.router)
    app.include_router(agent_tasks.router)
    app.include_router(agent_activity.router)
    app.include_router(agent_metrics.router)
    app.include_router(agent_guidance.router)
    app.include_router(approvals.router)
    app.include_router(credentials.router)
    app.include_router(usage.router)
    app.include_router(tenant.router)
    app.include_router(mailboxes.router)
    app.include_router(sends.router)
    app.include_router(unsubscribe.router)
    app.include_router(replies.router)
    return app
