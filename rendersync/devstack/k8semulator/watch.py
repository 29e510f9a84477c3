"""Watch streams: newline-delimited JSON events over a chunked response.

Without a resourceVersion (or with ``"0"``) a watch starts with synthetic ADDED events for
the current objects; with one it replays the events after it. A resourceVersion older than the
retained event window gets an ERROR event carrying a 410 ``ExpiredError`` Status (HTTP 200, as the
real server answers), so clients re-list. With a label/field selector, a MODIFIED event that
moves an object out of (into) the selection is sent as DELETED (ADDED).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .resourcetypes import ResourceType
from .statuses import status_body
from .store import Event, ExpiredError, Store
from .tableview import to_table

log = logging.getLogger(__name__)

Matcher = Callable[[dict[str, Any]], bool]
DEFAULT_TIMEOUT_S = 1800


@dataclass(frozen=True)
class WatchRequest:
    rt: ResourceType
    namespace: str | None
    resource_version: str | None
    timeout_s: float
    matches: Matcher
    table: bool
    include_object: str


def _visible(req: WatchRequest, namespace: str, obj: dict[str, Any] | None) -> bool:
    return obj is not None and req.namespace in (None, namespace) and req.matches(obj)


def translate(req: WatchRequest, event: Event) -> str | None:
    """The event type this watcher sees, or None when the change is outside its selection."""
    if event.resource != req.rt.key:
        return None
    now = _visible(req, event.namespace, event.obj)
    before = _visible(req, event.namespace, event.prev)
    if event.type == "MODIFIED":
        if now and not before:
            return "ADDED"
        if before and not now:
            return "DELETED"
    return event.type if (now or (event.type == "DELETED" and before)) else None


class _Writer:
    def __init__(self, response: web.StreamResponse, req: WatchRequest) -> None:
        self.response = response
        self.req = req
        self.sent_headers = False

    async def send(self, kind: str, obj: dict[str, Any]) -> None:
        payload = obj
        if self.req.table and kind != "ERROR":
            obj = dict(obj, apiVersion=self.req.rt.api_version, kind=self.req.rt.kind)
            payload = to_table(
                self.req.rt,
                [obj],
                list_meta={"resourceVersion": obj["metadata"]["resourceVersion"]},
                headers=not self.sent_headers,
                include_object=self.req.include_object,
            )
            self.sent_headers = True
        elif kind != "ERROR":
            payload = dict(obj, apiVersion=self.req.rt.api_version, kind=self.req.rt.kind)
        line = json.dumps({"type": kind, "object": payload}, separators=(",", ":")) + "\n"
        await self.response.write(line.encode())


async def stream(request: web.Request, store: Store, req: WatchRequest) -> web.StreamResponse:
    response = web.StreamResponse(headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    writer = _Writer(response, req)
    deadline = time.monotonic() + req.timeout_s
    try:
        cursor = await _start(store, req, writer)
        if cursor is not None:
            await _follow(store, req, writer, cursor, deadline)
    except ConnectionResetError:
        log.debug("watch client went away")
    return response


async def _start(store: Store, req: WatchRequest, writer: _Writer) -> int | None:
    if req.resource_version in (None, "", "0"):
        for obj in store.list_objects(req.rt.key, req.namespace):
            if req.matches(obj):
                await writer.send("ADDED", obj)
        return store.rv
    try:
        cursor = int(req.resource_version)
        store.events_after(cursor)
    except ValueError:
        await _expired(writer, f"invalid resource version: {req.resource_version!r}", 400)
        return None
    except ExpiredError as exc:
        await _expired(writer, str(exc), 410)
        return None
    return cursor


async def _expired(writer: _Writer, message: str, code: int) -> None:
    reason = "Expired" if code == 410 else "BadRequest"
    await writer.send("ERROR", status_body(code, reason, message))


async def _follow(
    store: Store, req: WatchRequest, writer: _Writer, cursor: int, deadline: float
) -> None:
    while not store.closed:
        wakeup = store.wakeup
        try:
            events = store.events_after(cursor)
        except ExpiredError as exc:
            await _expired(writer, str(exc), 410)
            return
        for event in events:
            cursor = event.rv
            kind = translate(req, event)
            if kind is not None:
                await writer.send(kind, event.obj)
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        try:
            await asyncio.wait_for(wakeup.wait(), timeout=remaining)
        except TimeoutError:
            return
