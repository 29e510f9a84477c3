"""The FastAPI application factory."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import FastAPI, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine

from api.web.apicontext import ApiContext
from api.web.apidoc import install_openapi
from api.web.auth.audit import AuditMiddleware
from api.web.auth.authorizing import AuthenticatedDep, GuardDep
from api.web.auth.config import AuthConfig
from api.web.auth.installing import install_auth
from api.web.console.serving import install_console
from api.web.console.subresources import Redriver
from api.web.httperrors import HttpError, install_handlers
from api.web.middleware import BodyLimitMiddleware, RequestIdMiddleware
from api.web.models import AUTH_ERRORS, error_responses
from api.web.previewing import PreviewTargets
from api.web.requestmetrics import metrics_response
from api.web.routes import router
from persistence.db import ping
from vocabulary.limits import DEFAULT_KAFKA_MAX_REQUEST_BYTES
from vocabulary.limits import max_event_bytes as max_event_bytes_for
from vocabulary.routing import Route


def create_app(
    *,
    engine: Engine,
    targets: tuple[str, ...],
    ui_url: str,
    routes: tuple[Route, ...] = (),
    target_kinds: Mapping[str, str] | None = None,
    temporal_namespace: str = "default",
    default_page_limit: int = 500,
    max_body_bytes: int = 1024 * 1024,
    max_event_bytes: int = max_event_bytes_for(DEFAULT_KAFKA_MAX_REQUEST_BYTES),
    auth: AuthConfig | None = None,
    redriver: Redriver | None = None,
    previews: PreviewTargets | None = None,
) -> FastAPI:
    """Build the API around an engine whose schema is already migrated. ``max_event_bytes``
    must derive from the relay's ``kafka.max_request_size`` (``vocabulary.limits``).

    ``auth`` guards every AppConfig route (``/healthz``, ``/readyz``, ``/docs`` and
    ``/openapi.json`` stay open). Left out, it is ``AuthConfig.disabled()``: every caller is
    ``system:anonymous`` and allowed, which only tests and benchmarks use; the CLI always
    passes the config built from ``RENDERSYNC_AUTH__*``. ``previews``: the clients a
    ``?dryRun=All`` compares the targets with (left out: it says it cannot).

    ``targets`` are the configured target names in apply order and ``routes`` the routing
    rules (``Settings.route_rules()``): a write of an AppConfig no rule routes is refused
    (422 on ``spec.environment``), and a status or preview covers the targets a row routes
    to. Without routes, every AppConfig goes to every target. ``target_kinds``: the kind of
    each target not named after its kind (``Settings.target_kinds()``), so a status names
    what each target holds (a Kubernetes resourceVersion, a Git commit)."""
    auth = auth or AuthConfig.disabled()
    app = FastAPI(
        title="rendersync",
        summary="AppConfig entities, rendered durably into Kubernetes and Git.",
        version="0.1.0",
    )
    app.state.context = ApiContext(
        engine=engine,
        targets=targets,
        ui_url=ui_url,
        temporal_namespace=temporal_namespace,
        default_page_limit=default_page_limit,
        max_event_bytes=max_event_bytes,
        previews=previews or PreviewTargets(),
        routes=routes,
        target_kinds=dict(target_kinds or {}),
    )
    install_handlers(app)
    install_auth(app, auth)
    app.include_router(router, dependencies=[GuardDep], responses=error_responses(*AUTH_ERRORS))
    install_console(app, redriver=redriver)

    @app.get("/healthz", tags=["health"])
    async def healthz() -> dict[str, Any]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["health"], responses=error_responses(503))
    async def readyz() -> dict[str, Any]:
        try:
            await run_in_threadpool(ping, engine)
        except Exception as err:
            raise HttpError(503, f"database unreachable: {type(err).__name__}") from None
        return {"status": "ok", "database": "reachable"}

    metrics_deps = [] if auth.metrics_public else [AuthenticatedDep]

    @app.get("/metrics", tags=["health"], include_in_schema=False, dependencies=metrics_deps)
    async def metrics() -> Response:
        return metrics_response()

    app.add_middleware(AuditMiddleware)
    install_openapi(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=max_body_bytes)
    app.add_middleware(RequestIdMiddleware)
    return app
