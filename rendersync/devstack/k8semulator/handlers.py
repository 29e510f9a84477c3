"""HTTP surface of the resource API: URL resolution and verb dispatch to :mod:`.objects`."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from multidict import CIMultiDict

from .objects import ObjectService
from .resourcetypes import Registry, ResourceType
from .selectors import field_matcher, label_matcher
from .statuses import EmulatedApiError, bad_request, status_body
from .tableview import to_table, wants_table
from .watch import DEFAULT_TIMEOUT_S, WatchRequest, stream
from .writes import WriteOptions

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_TRUE = ("true", "1", "True")


@dataclass(frozen=True)
class Target:
    rt: ResourceType
    namespace: str | None  # None: every namespace (collections of namespaced types only)
    name: str | None
    subresource: str | None


def _missing() -> EmulatedApiError:
    return EmulatedApiError(404, "NotFound", "the server could not find the requested resource")


def resolve(registry: Registry, path: str) -> Target:
    segs = [s for s in path.split("/") if s]
    if len(segs) >= 3 and segs[0] == "api":
        group, version, rest = "", segs[1], segs[2:]
    elif len(segs) >= 4 and segs[0] == "apis":
        group, version, rest = segs[1], segs[2], segs[3:]
    else:
        raise _missing()
    if len(rest) >= 3 and rest[0] == "namespaces":
        rt = registry.find(group, version, rest[2])
        if rt is not None and rt.namespaced and len(rest) <= 5:
            return Target(rt, rest[1], _at(rest, 3), _at(rest, 4))
    rt = registry.find(group, version, rest[0])
    if rt is None or len(rest) > 3 or (rt.namespaced and len(rest) > 1):
        raise _missing()
    return Target(rt, None if rt.namespaced else "", _at(rest, 1), _at(rest, 2))


def _at(items: list[str], index: int) -> str | None:
    return items[index] if len(items) > index else None


def _options(request: web.Request) -> WriteOptions:
    query = request.query
    validation = query.get("fieldValidation", "Warn")
    if validation not in ("Ignore", "Warn", "Strict"):
        raise bad_request(f"fieldValidation {validation!r} is not one of Ignore, Warn, Strict")
    agent = request.headers.get("User-Agent", "unknown").split("/")[0].split(" ")[0]
    return WriteOptions(
        manager=query.get("fieldManager") or agent,
        validation=validation,
        force=query.get("force") in _TRUE,
        dry_run=_dry_run(request),
    )


def _dry_run(request: web.Request) -> bool:
    """``?dryRun=All`` (the only value the API server knows); absent or empty: a real write."""
    values = [v for v in request.query.getall("dryRun", []) if v]
    for value in values:
        if value != "All":
            raise bad_request(f'dryRun: Unsupported value: "{value}": supported values: "All"')
    return bool(values)


def _reply(
    obj: dict[str, Any], opts: WriteOptions | None = None, status: int = 200
) -> web.Response:
    headers: CIMultiDict[str] = CIMultiDict()
    for warning in (opts.warnings if opts else [])[:20]:
        headers.add("Warning", "299 - " + json.dumps(warning))
    return web.json_response(obj, status=status, headers=headers)


async def _json_body(request: web.Request) -> Any:
    raw = await request.read()
    if not raw:
        return {}
    try:
        return json.loads(raw)
    except ValueError:
        import yaml

        try:
            return yaml.safe_load(raw)
        except yaml.YAMLError as exc:
            raise bad_request(f"the request body is neither JSON nor YAML: {exc}") from exc


class ResourceHandlers:
    def __init__(self, service: ObjectService) -> None:
        self.service = service

    async def handle(self, request: web.Request) -> web.StreamResponse:
        target = resolve(self.service.registry, request.path)
        if target.subresource not in (None, "status") or (
            target.subresource == "status" and not target.rt.status_subresource
        ):
            raise _missing()
        if target.rt.read_only and request.method != "GET":
            raise EmulatedApiError(405, "MethodNotAllowed", "the server does not allow this method")
        if target.name is None:
            return await self._collection(request, target)
        if target.namespace is None:
            raise _missing()
        return await self._item(request, target, target.name)

    async def _collection(self, request: web.Request, target: Target) -> web.StreamResponse:
        query, rt = request.query, target.rt
        if request.method == "GET" and query.get("watch") in _TRUE:
            watch = WatchRequest(
                rt=rt,
                namespace=target.namespace,
                resource_version=query.get("resourceVersion"),
                timeout_s=float(query.get("timeoutSeconds") or DEFAULT_TIMEOUT_S),
                matches=_matcher(query.get("labelSelector"), query.get("fieldSelector")),
                table=wants_table(request.headers.get("Accept", "")),
                include_object=query.get("includeObject", "Metadata"),
            )
            return await stream(request, self.service.store, watch)
        if request.method == "GET":
            listed = self.service.list(
                rt,
                target.namespace,
                label_selector=query.get("labelSelector"),
                field_selector=query.get("fieldSelector"),
                limit=int(query.get("limit") or 0),
                cont=query.get("continue"),
            )
            if wants_table(request.headers.get("Accept", "")):
                include = query.get("includeObject", "Metadata")
                table = to_table(
                    rt, listed["items"], list_meta=listed["metadata"], include_object=include
                )
                return _reply(table)
            return _reply(listed)
        if request.method == "POST" and target.namespace is not None:
            opts = _options(request)
            created = self.service.create(rt, target.namespace, await _json_body(request), opts)
            return _reply(created, opts, status=201)
        if request.method == "DELETE":
            listed = self.service.delete_collection(
                rt, target.namespace, query.get("labelSelector")
            )
            return _reply(listed)
        raise EmulatedApiError(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )

    async def _item(self, request: web.Request, target: Target, name: str) -> web.StreamResponse:
        rt, namespace = target.rt, target.namespace or ""
        status = target.subresource == "status"
        if request.method == "GET":
            obj = self.service.get(rt, namespace, name)
            if wants_table(request.headers.get("Accept", "")):
                meta = {"resourceVersion": obj["metadata"]["resourceVersion"]}
                return _reply(
                    to_table(
                        rt,
                        [obj],
                        list_meta=meta,
                        include_object=request.query.get("includeObject", "Metadata"),
                    )
                )
            return _reply(obj)
        if request.method == "PUT":
            opts = _options(request)
            body = await _json_body(request)
            return _reply(
                self.service.replace(rt, namespace, name, body, opts, status=status), opts
            )
        if request.method == "PATCH":
            opts = _options(request)
            content_type = request.headers.get("Content-Type", "").split(";")[0].strip()
            existed = self.service.store.get(rt.key, namespace, name) is not None
            raw = await request.read()
            patched = self.service.patch(
                rt, namespace, name, raw, content_type, opts, status=status
            )
            return _reply(patched, opts, status=200 if existed else 201)
        if request.method == "DELETE" and not status:
            options = await _json_body(request)
            options = options if isinstance(options, dict) else {}
            dry_run = _dry_run(request) or options.get("dryRun") == ["All"]
            return _reply(self.service.delete(rt, namespace, name, options, dry_run=dry_run))
        raise EmulatedApiError(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
        )


def _matcher(labels: str | None, fields: str | None) -> Callable[[dict[str, Any]], bool]:
    by_label, by_field = label_matcher(labels), field_matcher(fields)
    return lambda obj: by_label(obj) and by_field(obj)


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except EmulatedApiError as exc:
        return web.json_response(exc.body(), status=exc.code)
    except web.HTTPException as exc:
        if exc.status == 404:
            return web.json_response(_missing().body(), status=404)
        raise
    except Exception:
        log.exception("emulator failed on %s %s", request.method, request.path_qs)
        return web.json_response(status_body(500, "InternalError", "emulator error"), status=500)
