"""``GET /api/v1/watch/appconfigs``: a server-sent event stream of AppConfig changes.

``text/event-stream`` read with ``fetch`` (so the bearer token goes in the Authorization
header, not the URL). First ``event: ready`` with the change sequence at subscription; then
one ``data:`` line per change, ``{"type": "MODIFIED"|"DELETED", "object": ...}`` with the
object as the API renders it (status included); a comment every ``KEEPALIVE_S``. A client
lists after ``ready`` and applies the events that follow (they are never older than its
list). Filters: ``namespace`` and ``labelSelector``. Verb ``watch``: asked for the one
namespace, or, across namespaces, for each namespace an event is about.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from api.web.auth.authorizing import Action, BearerDep, allows, authenticated, forbidden
from api.web.auth.principals import Principal
from api.web.console.changefeed import Change, ChangeFeed
from api.web.httperrors import HttpError
from api.web.models import error_responses
from k8s.labels import Selector, SelectorError, parse_selector
from persistence import reading
from vocabulary import KIND

KEEPALIVE_S = 15.0
router = APIRouter(prefix="/api/v1", tags=["console"])


def feed_of(request: Request) -> ChangeFeed:
    feed: ChangeFeed = request.app.state.console.feed
    return feed


def event(change: Change) -> dict[str, Any]:
    if change.obj is None:
        meta = {"namespace": change.namespace, "name": change.name}
        return {"type": "DELETED", "object": {"kind": KIND, "metadata": meta}}
    return {"type": "MODIFIED", "object": change.obj}


class _Visibility:
    """Per stream: which namespaces the principal may watch (asked once per namespace)."""

    def __init__(self, request: Request, principal: Principal) -> None:
        self.request, self.principal = request, principal
        self.known: dict[str, bool] = {}

    async def allows(self, namespace: str) -> bool:
        if namespace not in self.known:
            self.known[namespace] = await allows(self.request, self.principal, "watch", namespace)
        return self.known[namespace]


async def _stream(
    request: Request, visible: _Visibility, namespace: str | None, selector: Selector
) -> AsyncIterator[str]:
    async with feed_of(request).subscribe() as queue:
        seq = await run_in_threadpool(reading.current_seq, request.app.state.context.engine)
        yield f"event: ready\ndata: {json.dumps({'resourceVersion': str(seq)})}\n\n"
        while True:
            try:
                batch = await asyncio.wait_for(queue.get(), KEEPALIVE_S)
            except TimeoutError:
                yield ": keepalive\n\n"
                continue
            if batch is None:  # fell behind: end, the client lists and watches again
                yield 'event: expired\ndata: {"reason": "watcher fell behind"}\n\n'
                return
            for change in batch:
                if namespace not in (None, change.namespace):
                    continue
                labels = (change.obj or {}).get("metadata", {}).get("labels") or {}
                if change.obj is not None and not selector.matches(labels):
                    continue
                if await visible.allows(change.namespace):
                    yield f"data: {json.dumps(event(change), separators=(',', ':'))}\n\n"


_STREAM = {
    "description": "Server-sent events, one `data:` line of JSON per change, until closed",
    "content": {"text/event-stream": {"schema": {"type": "string"}}},
}


@router.get(
    "/watch/appconfigs",
    response_class=StreamingResponse,
    responses={200: _STREAM, **error_responses(400, 401, 403, 429)},
)
async def watch(
    request: Request,
    bearer: BearerDep,
    namespace: str | None = Query(default=None),
    label_selector: str | None = Query(default=None, alias="labelSelector"),
) -> StreamingResponse:
    """Server-sent events of AppConfig changes (see the module docstring)."""
    action = Action("watch", namespace or "", "")
    request.state.action = action
    principal = await authenticated(request, bearer)
    if namespace and not await allows(request, principal, "watch", namespace):
        raise forbidden(principal, action)
    try:
        selector = parse_selector(label_selector)
    except SelectorError as err:
        raise HttpError(400, f"labelSelector: {err}") from None
    visible = _Visibility(request, principal)
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(
        _stream(request, visible, namespace, selector),
        media_type="text/event-stream",
        headers=headers,
    )
