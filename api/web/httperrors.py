"""API errors as Kubernetes-shaped ``Status`` bodies, and the handlers that produce them.

No stack trace ever reaches a client: an unexpected error answers 500 with the request id,
and the log line carrying the trace has the same id.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from api.spec import FieldError
from api.web.requestids import request_id_var
from vocabulary import GROUP, PLURAL

logger = logging.getLogger(__name__)

REASONS = {
    400: "BadRequest",
    404: "NotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    412: "PreconditionFailed",
    413: "RequestEntityTooLarge",
    415: "UnsupportedMediaType",
    422: "Invalid",
    500: "InternalError",
    503: "ServiceUnavailable",
}


class HttpError(Exception):
    """An error the rendersync API answers: HTTP ``code``, Kubernetes ``reason``, message and
    field causes."""

    def __init__(
        self,
        code: int,
        message: str,
        *,
        reason: str | None = None,
        causes: Sequence[FieldError] = (),
        name: str | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.reason = reason or REASONS.get(code, "Unknown")
        self.causes = list(causes)
        self.name = name


def invalid(name: str | None, causes: Sequence[FieldError]) -> HttpError:
    summary = "; ".join(f"{c.field}: {c.message}" for c in causes)
    return HttpError(
        422, f'AppConfig "{name or ""}" is invalid: {summary}', causes=causes, name=name
    )


def stale_write(err: Exception, *, name: str, via_if_match: bool) -> HttpError:
    """A write whose resourceVersion precondition no longer holds: 412 when it came as
    If-Match, else Kubernetes' 409 Conflict."""
    if via_if_match:
        return HttpError(412, f"If-Match precondition failed: {err}", name=name)
    return HttpError(
        409,
        f'Operation cannot be fulfilled on appconfigs "{name}": {err}; '
        "read the latest version and try again",
        name=name,
    )


def status_body(error: HttpError) -> dict[str, Any]:
    details: dict[str, Any] = {"kind": PLURAL, "group": GROUP}
    if error.name:
        details["name"] = error.name
    if error.causes:
        details["causes"] = [
            {"field": c.field, "reason": c.reason, "message": c.message} for c in error.causes
        ]
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": error.message,
        "reason": error.reason,
        "details": details,
        "code": error.code,
        "requestId": request_id_var.get(),
    }


def error_response(error: HttpError, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(status_body(error), status_code=error.code, headers=headers)


_HTTP_METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def allowed_methods(request: Request) -> list[str]:
    """Every method served at this request's path, for a 405's ``Allow``: the operations the
    OpenAPI document declares for a path template it matches, and the app's own routes (the
    route Starlette matched names only its own method: there is one route per method)."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    path = request.scope["path"]
    for template, operations in request.app.openapi().get("paths", {}).items():
        if _template_regex(template).fullmatch(path):
            methods |= {m.upper() for m in operations if m in _HTTP_METHODS}
    return sorted(methods)


@functools.lru_cache(maxsize=256)
def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{[^}/]+\}", template)
    return re.compile("[^/]+".join(re.escape(part) for part in parts))


def _validation_cause(item: dict[str, Any]) -> FieldError:
    loc = [str(p) for p in item.get("loc", ()) if p not in ("body", "query", "path", "header")]
    return FieldError(".".join(loc) or "body", "FieldValueInvalid", str(item.get("msg", "")))


def install_handlers(app: FastAPI) -> None:
    """Register the handlers mapping every failure to a Status body."""

    @app.exception_handler(HttpError)
    async def _api_error(_request: Request, exc: HttpError) -> JSONResponse:
        return error_response(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        causes = [_validation_cause(dict(e)) for e in exc.errors()]
        return error_response(HttpError(422, "invalid request parameters", causes=causes))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        return error_response(HttpError(exc.status_code, str(exc.detail)), headers)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error serving request %s", request_id_var.get())
        return error_response(
            HttpError(500, f"internal error; request id {request_id_var.get()} is in the log")
        )
