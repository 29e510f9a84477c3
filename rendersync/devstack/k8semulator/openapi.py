"""A minimal OpenAPI v3 surface: enough for kubectl to see server-side field validation.

kubectl validates manifests client-side unless the server's OpenAPI v3 document lists a
``fieldValidation`` query parameter on the PATCH operation of the kind being sent; without any
OpenAPI it refuses to validate at all. Each group-version document therefore holds one PATCH
operation per resource, tagged with ``x-kubernetes-group-version-kind``, and no schemas.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from aiohttp import web

from .resourcetypes import Registry, ResourceType
from .statuses import not_found

_FIELD_VALIDATION = {
    "name": "fieldValidation",
    "in": "query",
    "description": "Ignore, Warn or Strict handling of unknown fields.",
    "schema": {"type": "string", "uniqueItems": True},
}


def _gv_path(rt: ResourceType) -> str:
    return f"apis/{rt.group}/{rt.version}" if rt.group else f"api/{rt.version}"


def _item_path(rt: ResourceType) -> str:
    scope = "/namespaces/{namespace}" if rt.namespaced else ""
    return f"/{_gv_path(rt)}{scope}/{rt.plural}/{{name}}"


def document(registry: Registry, gv_path: str) -> dict[str, Any]:
    types = [rt for rt in registry.all() if _gv_path(rt) == gv_path]
    if not types:
        raise not_found("", "", gv_path)
    paths = {
        _item_path(rt): {
            "patch": {
                "operationId": f"patch{rt.kind}",
                "x-kubernetes-action": "patch",
                "x-kubernetes-group-version-kind": {
                    "group": rt.group,
                    "version": rt.version,
                    "kind": rt.kind,
                },
                "parameters": [_FIELD_VALIDATION],
                "responses": {"200": {"description": "OK"}},
            }
        }
        for rt in types
        if not rt.read_only
    }
    return {
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": "v1.32.0"},
        "paths": paths,
        "components": {"schemas": {}},
    }


def index(registry: Registry) -> dict[str, Any]:
    out = {}
    for gv in sorted({_gv_path(rt) for rt in registry.all()}):
        digest = hashlib.sha256(json.dumps(document(registry, gv), sort_keys=True).encode())
        out[gv] = {"serverRelativeURL": f"/openapi/v3/{gv}?hash={digest.hexdigest()[:32]}"}
    return {"paths": out}


def add_routes(app: web.Application, registry: Registry) -> None:
    async def root(_: web.Request) -> web.Response:
        return web.json_response(index(registry))

    async def group_version(request: web.Request) -> web.Response:
        return web.json_response(document(registry, request.match_info["gv"]))

    app.router.add_get("/openapi/v3", root)
    app.router.add_get("/openapi/v3/{gv:.+}", group_version)
