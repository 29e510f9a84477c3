"""Small helpers shared by the Kubernetes tests: object builders and reads."""

from __future__ import annotations

import json
from typing import Any

from kubernetes_asyncio import client
from kubernetes_asyncio.client.exceptions import ApiException

from k8s.manifests import render_appconfig
from vocabulary import GROUP, PLURAL, VERSION


def appconfig(
    namespace: str, name: str, *, seq: int = 1, spec: dict[str, Any] | None = None
) -> dict[str, Any]:
    return render_appconfig(
        namespace=namespace,
        name=name,
        spec=spec or {"app": name, "environment": "dev", "replicas": 1},
        labels={"team": "core"},
        annotations={},
        seq=seq,
    )


def custom(api: client.ApiClient) -> client.CustomObjectsApi:
    return client.CustomObjectsApi(api)


async def get(api: client.ApiClient, namespace: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = await custom(api).get_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, name
    )
    return found


async def create(api: client.ApiClient, obj: dict[str, Any]) -> dict[str, Any]:
    made: dict[str, Any] = await custom(api).create_namespaced_custom_object(
        GROUP, VERSION, obj["metadata"]["namespace"], PLURAL, obj
    )
    return made


def status_body(exc: ApiException) -> dict[str, Any]:
    body: dict[str, Any] = json.loads(exc.body or b"{}")
    return body
