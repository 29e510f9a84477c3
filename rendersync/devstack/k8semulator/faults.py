"""Fault injection: answer matching requests with an error, drop the connection, or delay.

From Python: ``emu.faults.add(method="PATCH", path_regex="/appconfigs/", status=500, count=1)``.
Over HTTP (for tests driving a separate process): ``POST /_emulator/faults`` with the same
fields as JSON, ``GET`` lists them, ``DELETE`` clears them. ``/_emulator/*`` is never faulted.
"""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Middleware

from .statuses import reason_for, status_body

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_ids = itertools.count(1)


@dataclass
class Fault:
    method: str | None = None
    path_regex: str = ".*"
    status: int | None = None
    #: How many matching requests it affects; None means until cleared.
    count: int | None = None
    drop_connection: bool = False
    latency_s: float = 0.0
    message: str = "injected fault"
    id: int = field(default_factory=lambda: next(_ids))
    hits: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.method and self.method.upper() != method.upper():
            return False
        return re.search(self.path_regex, path) is not None


class Faults:
    """Active faults, first match wins; a fault with ``count`` expires after that many hits."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []

    def add(
        self,
        *,
        method: str | None = None,
        path_regex: str = ".*",
        status: int | None = None,
        count: int | None = None,
        drop_connection: bool = False,
        latency_s: float = 0.0,
        message: str = "injected fault",
    ) -> Fault:
        re.compile(path_regex)
        fault = Fault(method, path_regex, status, count, drop_connection, latency_s, message)
        self._faults.append(fault)
        return fault

    def clear(self) -> None:
        self._faults.clear()

    def remove(self, fault: Fault) -> None:
        """End ``fault`` now (a no-op when it already expired)."""
        if fault in self._faults:
            self._faults.remove(fault)

    def list(self) -> list[Fault]:
        return list(self._faults)

    def take(self, method: str, path: str) -> Fault | None:
        for fault in self._faults:
            if fault.matches(method, path):
                fault.hits += 1
                if fault.count is not None and fault.hits >= fault.count:
                    self._faults.remove(fault)
                return fault
        return None


def middleware(faults: Faults) -> Middleware:
    @web.middleware
    async def inject(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith("/_emulator/"):
            return await handler(request)
        fault = faults.take(request.method, request.path_qs)
        if fault is None:
            return await handler(request)
        if fault.latency_s:
            # A slow server, not a slow network: the request is received first, so its
            # effect lands after the delay even when the client gave up meanwhile.
            await request.read()
            await asyncio.sleep(fault.latency_s)
        if fault.drop_connection and request.transport is not None:
            request.transport.close()
            return web.Response(status=500)
        if fault.status:
            headers = {"Retry-After": "1"} if fault.status == 429 else {}
            body = status_body(fault.status, reason_for(fault.status), fault.message)
            return web.json_response(body, status=fault.status, headers=headers)
        return await handler(request)

    return inject


def add_routes(app: web.Application, faults: Faults) -> None:
    fields = set(Fault.__dataclass_fields__) - {"id", "hits"}

    async def create(request: web.Request) -> web.Response:
        spec: dict[str, Any] = await request.json()
        unknown = set(spec) - fields
        if unknown:
            return web.json_response({"error": f"unknown fields {sorted(unknown)}"}, status=400)
        fault = faults.add(**spec)
        return web.json_response(asdict(fault), status=201)

    async def listing(_: web.Request) -> web.Response:
        return web.json_response([asdict(f) for f in faults.list()])

    async def clear(_: web.Request) -> web.Response:
        faults.clear()
        return web.json_response({})

    app.router.add_post("/_emulator/faults", create)
    app.router.add_get("/_emulator/faults", listing)
    app.router.add_delete("/_emulator/faults", clear)
