"""A log of the requests an emulator served, in the terms RBAC speaks: verb and resource.

Each request (but ``/_emulator/*``) is recorded as it arrives, faulted or not, with its method
and path and with what the Kubernetes API server's request-info resolution would make of it:
the verb (``get list watch create update patch delete deletecollection``), API group,
resource, subresource and namespace; for a URL that names no resource (discovery,
``/version``, ``/openapi``) the verb is the lower-case method and ``resource`` is empty, as a
``nonResourceURLs`` rule sees it; a TokenReview or SubjectAccessReview is ``create`` on
``tokenreviews``/``subjectaccessreviews``, cluster-scoped. ``user`` is the bearer token the
client presented: the emulator authenticates nobody, so a token is only a name that tells
clients apart.

From Python: ``emu.requests.entries()``, ``emu.requests.clear()``. Over HTTP:
``GET /_emulator/requests`` (a JSON list), ``DELETE /_emulator/requests``.
"""

from __future__ import annotations

import collections
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass

from aiohttp import web
from aiohttp.typedefs import Middleware

from .accessreviews import AUTHN, AUTHZ
from .handlers import resolve
from .resourcetypes import Registry
from .statuses import EmulatedApiError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: Requests kept (the oldest are dropped first), so a long dev session stays bounded.
DEFAULT_CAPACITY = 100_000
_WRITE_VERBS = {"POST": "create", "PUT": "update", "PATCH": "patch"}
#: The review endpoints (``accessreviews.py``) are no registry types, but the API server names them
#: as cluster-scoped resources, which a ClusterRole grants ``create`` on.
_REVIEWS = {
    AUTHN: ("authentication.k8s.io", "tokenreviews"),
    AUTHZ: ("authorization.k8s.io", "subjectaccessreviews"),
}


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    verb: str
    group: str
    resource: str
    subresource: str | None
    namespace: str | None
    user: str


class RequestLog:
    """The requests served so far, oldest first (at most ``capacity``)."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self._entries: collections.deque[RecordedRequest] = collections.deque(maxlen=capacity)

    def record(self, entry: RecordedRequest) -> None:
        self._entries.append(entry)

    def entries(self) -> list[RecordedRequest]:
        return list(self._entries)

    def clear(self) -> None:
        self._entries.clear()


def describe(registry: Registry, request: web.Request) -> RecordedRequest:
    """How the API server's request-info resolution names ``request``."""
    auth = request.headers.get("Authorization", "")
    user = auth.removeprefix("Bearer ").strip() if auth.startswith("Bearer ") else ""
    method = request.method.upper()
    review = _REVIEWS.get(request.path.rstrip("/"))
    if review is not None:
        verb = _WRITE_VERBS.get(method, method.lower())
        return RecordedRequest(method, request.path, verb, *review, None, None, user)
    try:
        target = resolve(registry, request.path)
    except EmulatedApiError:
        return RecordedRequest(method, request.path, method.lower(), "", "", None, None, user)
    if method == "GET" and target.name is None:
        verb = "watch" if request.query.get("watch") in ("true", "1", "True") else "list"
    elif method == "GET":
        verb = "get"
    elif method == "DELETE":
        verb = "delete" if target.name is not None else "deletecollection"
    else:
        verb = _WRITE_VERBS.get(method, method.lower())
    return RecordedRequest(
        method=method,
        path=request.path,
        verb=verb,
        group=target.rt.group,
        resource=target.rt.plural,
        subresource=target.subresource,
        namespace=target.namespace or None,
        user=user,
    )


def middleware(log: RequestLog, registry: Registry) -> Middleware:
    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        if not request.path.startswith("/_emulator/"):
            log.record(describe(registry, request))
        return await handler(request)

    return record


def add_routes(app: web.Application, log: RequestLog) -> None:
    async def listing(_: web.Request) -> web.Response:
        return web.json_response([asdict(e) for e in log.entries()])

    async def clear(_: web.Request) -> web.Response:
        log.clear()
        return web.json_response({})

    app.router.add_get("/_emulator/requests", listing)
    app.router.add_delete("/_emulator/requests", clear)
