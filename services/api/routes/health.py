"""Liveness and readiness probes."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from services.api.problems import problem_response
from shared.db.database import Database

router = APIRouter(tags=["health"])


@router.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", response_model=None)
def readyz(request: Request) -> dict[str, str] | JSONResponse:
    db: Database = request.app.state.db
    try:
        with db.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        return problem_response(503, "Not ready", f"database unreachable: {type(exc).__name__}")
    return {"status": "ready", "database": "ok"}
