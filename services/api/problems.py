"""RFC 9457 problem details for every error the API answers."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from shared.agent_types import AgentType, canonical_agent_type
from shared.errors import Conflict, NotFound
from shared.task_inputs import InputInvalid

__all__ = ["ProblemError", "agent_type_or_problem", "install_problem_handlers", "problem_response"]

PROBLEM_JSON = "application/problem+json"


class ProblemError(Exception):
    """Raise from a route to answer with a problem document."""

    def __init__(self, status: int, title: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.status = status
        self.title = title
        self.detail = detail
        self.extra = extra


def agent_type_or_problem(name: str) -> AgentType:
    """The canonical agent type for a name or alias; a 422 naming the known ones otherwise."""
    try:
        return canonical_agent_type(name)
    except ValueError as exc:
        raise ProblemError(422, "Invalid request", str(exc)) from None


def problem_response(
    status: int,
    title: str,
    detail: str,
    *,
    instance: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    body["detail"] = detail
    if instance:
        body["instance"] = instance
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return problem_response(
            exc.status,
            exc.title,
            exc.detail,
            instance=request.url.path,
            headers=headers,
            **exc.extra,
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"field": ".".join(str(p) for p in err["loc"] if p != "body"), "message": err["msg"]}
            for err in exc.errors()
        ]
        if any(err["type"] == "json_invalid" for err in exc.errors()):
            return problem_response(
                400,
                "Malformed JSON",
                "the request body is not valid JSON",
                instance=request.url.path,
                errors=errors,
            )
        detail = "; ".join(f"{e['field'] or 'body'}: {e['message']}" for e in errors)
        return problem_response(
            422, "Invalid request", detail, instance=request.url.path, errors=errors
        )

    @app.exception_handler(InputInvalid)
    async def _input(request: Request, exc: InputInvalid) -> JSONResponse:
        return problem_response(
            422, "Invalid task input", str(exc), instance=request.url.path, errors=exc.errors
        )

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, exc: NotFound) -> JSONResponse:
        return problem_response(404, "Not found", str(exc), instance=request.url.path)

    @app.exception_handler(Conflict)
    async def _conflict(request: Request, exc: Conflict) -> JSONResponse:
        return problem_response(409, "Conflict", str(exc), instance=request.url.path)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem_response(
            exc.status_code,
            _TITLES.get(exc.status_code, "Error"),
            str(exc.detail),
            instance=request.url.path,
        )


_TITLES = {404: "Not found", 405: "Method not allowed", 413: "Payload too large"}
