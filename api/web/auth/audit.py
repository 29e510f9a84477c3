"""One structured log line per write and per denied request.

Logger ``rendersync.audit``; the line carries principal, verb, key (``namespace/name``),
result (the HTTP status) and request id, also as the record's ``audit`` field (the JSON log
format emits it as an object). Never a credential: only the principal's name.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.web.auth.roles import WRITE_VERBS
from api.web.requestids import request_id_var

logger = logging.getLogger("rendersync.audit")

DENIED = (401, 403, 429)


class AuditMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        status: dict[str, int] = {}

        async def recording(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        await self.app(scope, receive, recording)
        code = status.get("code", 500)
        action = state.get("action")
        if action is None or (action.verb not in WRITE_VERBS and code not in DENIED):
            return
        principal = state.get("principal")
        entry = {
            "principal": principal.name if principal is not None else "-",
            "authenticator": principal.authenticator if principal is not None else "-",
            "verb": action.verb,
            "key": action.key,
            "result": code,
            "outcome": "denied" if code in DENIED else "ok" if code < 400 else "failed",
            "request_id": request_id_var.get(),
        }
        logger.info(
            "audit principal=%s verb=%s key=%s result=%s",
            entry["principal"],
            entry["verb"],
            entry["key"],
            code,
            extra={"audit": entry},
        )
