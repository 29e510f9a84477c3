"""Discovery documents: ``/version``, ``/api``, ``/api/v1``, ``/apis``, ``/apis/{g}[/{v}]``.

Only the legacy (unaggregated) documents are served, always as plain ``application/json``.
kubectl 1.32 first asks ``/api`` and ``/apis`` for the aggregated ``APIGroupDiscoveryList``;
seeing a plain content type it falls back to the per-group-version documents.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .resourcetypes import Registry, ResourceType
from .statuses import not_found

VERSION_INFO = {
    "major": "1",
    "minor": "32",
    "gitVersion": "v1.32.0-rendersync-emulator",
    "gitCommit": "",
    "gitTreeState": "clean",
    "buildDate": "2024-12-11T00:00:00Z",
    "goVersion": "go1.23",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def _resource_entries(rt: ResourceType) -> list[dict[str, Any]]:
    verbs = ["get", "list", "watch"] if rt.read_only else list(rt.verbs)
    main: dict[str, Any] = {
        "name": rt.plural,
        "singularName": rt.singular,
        "namespaced": rt.namespaced,
        "kind": rt.kind,
        "verbs": verbs,
    }
    if rt.short_names:
        main["shortNames"] = list(rt.short_names)
    if rt.categories:
        main["categories"] = list(rt.categories)
    entries = [main]
    if rt.status_subresource:
        entries.append(
            {
                "name": f"{rt.plural}/status",
                "singularName": "",
                "namespaced": rt.namespaced,
                "kind": rt.kind,
                "verbs": ["get", "patch", "update"],
            }
        )
    return entries


def resource_list(registry: Registry, group: str, version: str) -> dict[str, Any]:
    types = [rt for rt in registry.all() if rt.group == group and rt.version == version]
    if not types:
        raise not_found("", "", f"{group}/{version}" if group else version)
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": f"{group}/{version}" if group else version,
        "resources": [entry for rt in types for entry in _resource_entries(rt)],
    }


def api_group(registry: Registry, group: str) -> dict[str, Any]:
    versions = registry.groups().get(group)
    if not versions or not group:
        raise not_found("", "", group)
    listed = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {
        "kind": "APIGroup",
        "apiVersion": "v1",
        "name": group,
        "versions": listed,
        "preferredVersion": listed[0],
    }


def api_groups(registry: Registry) -> dict[str, Any]:
    groups = [g for g in registry.groups() if g]
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [
            {k: v for k, v in api_group(registry, g).items() if k not in ("kind", "apiVersion")}
            for g in groups
        ],
    }


def add_routes(app: web.Application, registry: Registry) -> None:
    async def version(_: web.Request) -> web.Response:
        return web.json_response(VERSION_INFO)

    async def core(request: web.Request) -> web.Response:
        host = request.host
        return web.json_response(
            {
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": host}],
            }
        )

    async def core_v1(_: web.Request) -> web.Response:
        return web.json_response(resource_list(registry, "", "v1"))

    async def groups(_: web.Request) -> web.Response:
        return web.json_response(api_groups(registry))

    async def group(request: web.Request) -> web.Response:
        return web.json_response(api_group(registry, request.match_info["group"]))

    async def group_version(request: web.Request) -> web.Response:
        info = request.match_info
        return web.json_response(resource_list(registry, info["group"], info["version"]))

    app.router.add_get("/version", version)
    app.router.add_get("/api", core)
    app.router.add_get("/api/v1", core_v1)
    app.router.add_get("/apis", groups)
    app.router.add_get("/apis/{group}", group)
    app.router.add_get("/apis/{group}/{version}", group_version)
