"""Putting the console on an app: ``/ui/`` static files with a strict CSP, the watch and
subresource routes, the change feed and the middleware that pokes it after each write."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.web.apicontext import ApiContext
from api.web.auth.authorizing import GuardDep
from api.web.console import subresources, watchstream
from api.web.console.changefeed import ChangeFeed
from api.web.console.subresources import Redriver
from api.web.models import AUTH_ERRORS, error_responses
from api.web.resources import render
from api.web.status import current_status
from persistence import reading

STATIC = Path(__file__).parent / "static"
#: Everything from this origin; no inline script or style, nothing from elsewhere.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass
class Console:
    feed: ChangeFeed
    redriver: Redriver | None


class _Headers:
    """Security headers on the console's files."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] += [
                    (b"content-security-policy", CSP.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"no-referrer"),
                    (b"cache-control", b"no-cache"),
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class PokeOnWrite:
    """After a successful write to the API, wake the change feed (no wait for its probe)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in WRITES:
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                scope["app"].state.console.feed.poke()
            await send(message)

        await self.app(scope, receive, sending)


def _renderer(ctx: ApiContext) -> Any:
    def render_key(namespace: str, name: str) -> dict[str, Any] | None:
        row = reading.get_row(ctx.engine, namespace=namespace, name=name)
        return None if row is None else render(row, current_status(ctx, row))

    return render_key


def install_console(
    app: FastAPI, *, redriver: Redriver | None = None, watch_interval_s: float = 1.0
) -> None:
    """Serve the console at ``/ui/``; ``redriver`` enables ``.../replay`` (else 503)."""
    ctx: ApiContext = app.state.context
    feed = ChangeFeed(ctx.engine, _renderer(ctx), interval_s=watch_interval_s)
    app.state.console = Console(feed=feed, redriver=redriver)
    app.include_router(watchstream.router)
    app.include_router(
        subresources.router, dependencies=[GuardDep], responses=error_responses(*AUTH_ERRORS)
    )
    app.mount("/ui", _Headers(StaticFiles(directory=STATIC, html=True)), name="console")

    @app.get("/", include_in_schema=False)
    async def to_console() -> RedirectResponse:
        return RedirectResponse("/ui/")

    app.add_middleware(PokeOnWrite)
