"""The sandbox's own endpoints: health, the request log, reset and scenarios."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from services.sandbox.state import SandboxState

__all__ = ["build_control_router"]


def build_control_router(state: SandboxState) -> APIRouter:
    """``/healthz`` and the ``/_sandbox/*`` endpoints tests use to watch and steer the sandbox."""
    router = APIRouter()

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/_sandbox/requests")
    async def recorded_requests(window_s: float | None = None) -> dict[str, Any]:
        """Requests in order of arrival; ``?window_s=1`` adds counts per 1-second window."""
        return state.log.snapshot(window_s)

    @router.post("/_sandbox/reset")
    async def reset() -> dict[str, str]:
        """Forget recorded requests, refill the rate limits, restore the startup scenario."""
        state.reset()
        return {"status": "reset"}

    @router.get("/_sandbox/scenario")
    async def scenario() -> dict[str, Any]:
        return state.scenario()

    @router.post("/_sandbox/scenario", response_model=None)
    async def set_scenario(request: Request) -> dict[str, Any] | JSONResponse:
        """Change faults and limits mid-run, e.g. ``{"rate_limit_storm_s": 10,
        "storm_retry_after_s": 2}`` or ``{"next_faults": ["error", "timeout"]}``."""
        try:
            changes = await request.json()
        except ValueError:
            return JSONResponse({"detail": "the body must be a JSON object"}, status_code=422)
        if not isinstance(changes, dict):
            return JSONResponse({"detail": "the body must be a JSON object"}, status_code=422)
        try:
            state.apply_scenario(changes)
        except ValueError as exc:
            return JSONResponse({"detail": str(exc)}, status_code=422)
        return state.scenario()

    return router
