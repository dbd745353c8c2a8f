"""Every error a client can cause becomes a 4xx JSON body naming the field and the reason; never a 500."""

from __future__ import annotations

import logging
import re

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("shopsense.api")


class ApiError(Exception):
    """A client error with a status, a message and, where it applies, the field at fault."""

    def __init__(self, status: int, message: str, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.field, self.headers = status, message, field, headers


def error_body(message: str, errors: list[dict[str, str]] | None = None) -> dict:
    return {"detail": message, "errors": errors or []}


def _field_path(location: tuple) -> tuple[str, str]:
    parts = [str(p) for p in location]
    where = parts[0] if parts else "body"
    field = ".".join(parts[1:]) or where
    return where, field


_NAMED = re.compile(r"^(?:Value error, )?([a-z_][a-z0-9_]*): (.+)$", re.S)


def _is_tag(part: object) -> bool:
    # Union branches appear in locations as the model's name ("EventBatch") or a validator wrapper
    # ("function-after[_by_type(), EventIn]"); field names are lower-case identifiers.
    return isinstance(part, str) and (part[:1].isupper() or "[" in part)


def _one_union_branch(errors: list[dict]) -> list[dict]:
    """For a body that may be one of several models (``EventIn | EventBatch``), keep the errors of the
    branch the client most likely meant (the one with the fewest errors), without the model name."""
    tags = {e["loc"][1] for e in errors if len(e.get("loc", ())) > 1 and _is_tag(e["loc"][1])}
    if len(tags) < 2:
        return errors
    by_tag = {t: [e for e in errors if len(e["loc"]) > 1 and e["loc"][1] == t] for t in tags}
    best = min(sorted(by_tag), key=lambda t: len(by_tag[t]))
    return [{**e, "loc": (e["loc"][0], *e["loc"][2:])} for e in by_tag[best]]


def _describe(err: dict) -> dict[str, str]:
    where, field = _field_path(tuple(err.get("loc", ())))
    message = str(err.get("msg", "invalid"))
    named = _NAMED.match(message)
    if named:  # a model-level check names its field in the message ("value: a rating needs ...")
        field = named.group(1) if field == where else f"{field}.{named.group(1)}"
        message = named.group(2)
    return {"location": where, "field": field, "message": message}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [_describe(err) for err in _one_union_branch(list(exc.errors()))]
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors) or "invalid request"
        return JSONResponse(status_code=422, content=error_body(f"invalid request: {summary}", errors))

    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        errors = [{"location": "request", "field": exc.field, "message": exc.message}] if exc.field else []
        return JSONResponse(status_code=exc.status, content=error_body(exc.message, errors), headers=exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(status_code=exc.status_code, content=error_body(str(exc.detail)),
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # A bug on our side: log it (masked by the logging filter) and answer without internals.
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(status_code=500, content=error_body("internal error; it has been logged"))
