"""ASGI middleware: request ids (header, log context) and the request body size limit."""

from __future__ import annotations

import json
import logging
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.web.httperrors import HttpError, status_body
from api.web.requestids import request_id_var
from api.web.requestmetrics import REQUEST_SECONDS, REQUESTS

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = b"x-request-id"


class RequestIdMiddleware:
    """Takes X-Request-Id from the client or makes one; echoes it; logs each request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers", []))
        request_id = headers.get(REQUEST_ID_HEADER, b"").decode()[:64] or uuid.uuid4().hex
        request_id_var.set(request_id)
        started = time.perf_counter()
        status: dict[str, int] = {}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (REQUEST_ID_HEADER, request_id.encode())]
            await send(message)

        await self.app(scope, receive, send_with_id)
        elapsed = time.perf_counter() - started
        REQUESTS.labels(scope["method"], str(status.get("code", 0))).inc()
        REQUEST_SECONDS.labels(scope["method"]).observe(elapsed)
        logger.info(
            "%s %s %s %.1fms", scope["method"], scope["path"], status.get("code", 0), elapsed * 1000
        )


class BodyLimitMiddleware:
    """Answers 413 to request bodies over ``max_bytes`` before any handler runs."""

    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._reject(send)
            return
        chunks: list[bytes] = []
        size, more = 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > self.max_bytes:
                await self._reject(send)
                return
        await self.app(scope, _replay(b"".join(chunks), receive), send)

    async def _reject(self, send: Send) -> None:
        error = HttpError(413, f"request body exceeds {self.max_bytes} bytes")
        body = _json_bytes(status_body(error))
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value).encode()
