"""The sandbox provider's HTTP app: OpenAI, Anthropic and Gemini wire formats (and Apollo's,
when its router is present) on one port, plus the endpoints tests use to steer it."""

from __future__ import annotations

import importlib
import importlib.util

from fastapi import FastAPI

from services.sandbox.anthropic import build_anthropic_router
from services.sandbox.config import SandboxConfig
from services.sandbox.control import build_control_router
from services.sandbox.gemini import build_gemini_router
from services.sandbox.openai import build_openai_router
from services.sandbox.state import SandboxState

__all__ = ["create_sandbox_app"]

_APOLLO_MODULE = "services.sandbox.apollo"


def create_sandbox_app(config: SandboxConfig) -> FastAPI:
    """A FastAPI app that answers like the providers, with ``config``'s latency, faults and
    limits; ``POST /_sandbox/scenario`` changes them while it runs."""
    state = SandboxState(config)
    app = FastAPI(
        title="agentfleet sandbox provider", docs_url=None, redoc_url=None, openapi_url=None
    )
    app.include_router(build_control_router(state))
    app.include_router(build_openai_router(state))
    app.include_router(build_anthropic_router(state))
    app.include_router(build_gemini_router(state))
    # Apollo's router is written and owned apart from the LLM ones; it takes the same state
    # (``config``, ``log.record(...)``, ``should_fail()``) and is served when its module exists.
    if importlib.util.find_spec(_APOLLO_MODULE) is not None:
        apollo = importlib.import_module(_APOLLO_MODULE)
        app.include_router(apollo.build_apollo_router(state))
    return app
