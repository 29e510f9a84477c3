"""API conventions the sync relies on; written against Kubernetes behaviour, so they also pass
against a real API server (``--real-cluster``): resourceVersion, generation, status
subresource, server-side apply, preconditions, finalizers, paging, watch."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from kubernetes_asyncio.client import V1DeleteOptions, V1Preconditions
from kubernetes_asyncio.client.exceptions import ApiException

from tests.k8s.conftest import Cluster
from tests.k8s.helpers import appconfig, create, custom, get, status_body
from vocabulary import GROUP, PLURAL, VERSION

pytestmark = pytest.mark.realcluster

APPLY: dict[str, Any] = {"_content_type": "application/apply-patch+yaml"}
MERGE: dict[str, Any] = {"_content_type": "application/merge-patch+json"}


async def _apply(
    c: Cluster, obj: dict[str, Any], *, manager: str, force: bool = False
) -> dict[str, Any]:
    # A create through apply answers 201, which this client does not deserialize.
    out: dict[str, Any] | None = await custom(c.api).patch_namespaced_custom_object(
        GROUP,
        VERSION,
        c.namespace,
        PLURAL,
        obj["metadata"]["name"],
        obj,
        field_manager=manager,
        force=force,
        **APPLY,
    )
    return out if out is not None else await get(c.api, c.namespace, obj["metadata"]["name"])


async def _merge(c: Cluster, name: str, patch: Any, *, status: bool = False) -> dict[str, Any]:
    api = custom(c.api)
    call = (
        api.patch_namespaced_custom_object_status if status else api.patch_namespaced_custom_object
    )
    out: dict[str, Any] = await call(GROUP, VERSION, c.namespace, PLURAL, name, patch, **MERGE)
    return out


async def test_create_sets_server_fields_and_defaults(cluster: Cluster) -> None:
    obj = appconfig(cluster.namespace, "web", spec={"app": "web", "environment": "dev"})
    made = await create(cluster.api, obj)
    meta = made["metadata"]
    assert meta["uid"]
    assert meta["creationTimestamp"]
    assert int(meta["resourceVersion"]) > 0
    assert meta["generation"] == 1
    assert made["spec"]["replicas"] == 1
    with pytest.raises(ApiException) as dup:
        await create(cluster.api, obj)
    assert dup.value.status == 409
    assert status_body(dup.value)["reason"] == "AlreadyExists"


async def test_resource_version_is_an_optimistic_lock(cluster: Cluster) -> None:
    made = await create(cluster.api, appconfig(cluster.namespace, "web"))
    stale = made["metadata"]["resourceVersion"]
    first = dict(made, spec={**made["spec"], "replicas": 2})
    updated = await custom(cluster.api).replace_namespaced_custom_object(
        GROUP, VERSION, cluster.namespace, PLURAL, "web", first
    )
    assert int(updated["metadata"]["resourceVersion"]) > int(stale)
    assert updated["metadata"]["generation"] == 2
    with pytest.raises(ApiException) as caught:
        await custom(cluster.api).replace_namespaced_custom_object(
            GROUP, VERSION, cluster.namespace, PLURAL, "web", dict(first, spec=made["spec"])
        )
    assert caught.value.status == 409
    assert status_body(caught.value)["reason"] == "Conflict"
    with pytest.raises(ApiException) as patched:
        await _merge(
            cluster, "web", {"metadata": {"resourceVersion": stale}, "spec": {"replicas": 3}}
        )
    assert patched.value.status == 409


async def test_generation_counts_spec_changes_only(cluster: Cluster) -> None:
    await create(cluster.api, appconfig(cluster.namespace, "web"))
    labelled = await _merge(cluster, "web", {"metadata": {"labels": {"tier": "front"}}})
    assert labelled["metadata"]["generation"] == 1
    respec = await _merge(cluster, "web", {"spec": {"replicas": 4}})
    assert respec["metadata"]["generation"] == 2
    again = await _merge(cluster, "web", {"spec": {"replicas": 4}})
    assert again["metadata"]["resourceVersion"] == respec["metadata"]["resourceVersion"]


async def test_status_only_through_the_status_subresource(cluster: Cluster) -> None:
    await create(cluster.api, appconfig(cluster.namespace, "web"))
    ignored = await _merge(cluster, "web", {"status": {"observedVersion": 9}})
    assert "status" not in ignored or "observedVersion" not in ignored["status"]
    status = {"observedVersion": 1, "conditions": [{"type": "Synced", "status": "True"}]}
    written = await _merge(cluster, "web", {"status": status, "spec": {"replicas": 7}}, status=True)
    assert written["status"]["observedVersion"] == 1
    assert written["spec"]["replicas"] == 1
    assert written["metadata"]["generation"] == 1


async def test_server_side_apply_ownership_and_conflicts(cluster: Cluster) -> None:
    obj = appconfig(
        cluster.namespace,
        "web",
        spec={
            "app": "web",
            "environment": "dev",
            "replicas": 1,
            "data": {"a": "1", "b": "2"},
        },
    )
    first = await _apply(cluster, obj, manager="rendersync")
    managers = {e["manager"] for e in first["metadata"]["managedFields"]}
    assert managers == {"rendersync"}
    again = await _apply(cluster, obj, manager="rendersync")
    assert again["metadata"]["resourceVersion"] == first["metadata"]["resourceVersion"]
    rival = {**obj, "spec": {"app": "web", "environment": "dev", "replicas": 5}}
    with pytest.raises(ApiException) as caught:
        await _apply(cluster, rival, manager="someone-else")
    assert caught.value.status == 409
    assert ".spec.replicas" in status_body(caught.value)["message"]
    forced = await _apply(cluster, rival, manager="someone-else", force=True)
    assert forced["spec"]["replicas"] == 5
    shrunk = {**obj, "spec": {**obj["spec"], "data": {"a": "1"}}}
    mine = await _apply(cluster, shrunk, manager="rendersync", force=True)
    assert mine["spec"]["data"] == {"a": "1"}
    assert mine["spec"]["replicas"] == 1


async def test_apply_honours_resource_version_precondition(cluster: Cluster) -> None:
    made = await create(cluster.api, appconfig(cluster.namespace, "web"))
    await _merge(cluster, "web", {"spec": {"replicas": 2}})
    stale = appconfig(cluster.namespace, "web", seq=2)
    stale["metadata"]["resourceVersion"] = made["metadata"]["resourceVersion"]
    with pytest.raises(ApiException) as caught:
        await _apply(cluster, stale, manager="rendersync", force=True)
    assert caught.value.status == 409


async def test_delete_preconditions_and_finalizers(cluster: Cluster) -> None:
    obj = appconfig(cluster.namespace, "web")
    obj["metadata"]["finalizers"] = ["rendersync.dev/test"]
    made = await create(cluster.api, obj)
    await _merge(cluster, "web", {"spec": {"replicas": 2}})
    api = custom(cluster.api)
    stale = V1DeleteOptions(
        preconditions=V1Preconditions(resource_version=made["metadata"]["resourceVersion"])
    )
    with pytest.raises(ApiException) as caught:
        await api.delete_namespaced_custom_object(
            GROUP, VERSION, cluster.namespace, PLURAL, "web", body=stale
        )
    assert caught.value.status == 409
    await api.delete_namespaced_custom_object(GROUP, VERSION, cluster.namespace, PLURAL, "web")
    pending = await get(cluster.api, cluster.namespace, "web")
    assert pending["metadata"]["deletionTimestamp"]
    await _merge(cluster, "web", {"metadata": {"finalizers": None}})
    with pytest.raises(ApiException) as gone:
        await get(cluster.api, cluster.namespace, "web")
    assert gone.value.status == 404


async def test_list_pages_with_limit_and_continue(cluster: Cluster) -> None:
    for i in range(5):
        await create(cluster.api, appconfig(cluster.namespace, f"app-{i}"))
    names: list[str] = []
    token = None
    while True:
        extra: dict[str, Any] = {"_continue": token} if token else {}
        page = await custom(cluster.api).list_namespaced_custom_object(
            GROUP,
            VERSION,
            cluster.namespace,
            PLURAL,
            limit=2,
            label_selector="team in (core)",
            **extra,
        )
        names += [o["metadata"]["name"] for o in page["items"]]
        token = page["metadata"].get("continue")
        if not token:
            break
    assert names == [f"app-{i}" for i in range(5)]


async def test_watch_streams_changes_after_a_resource_version(cluster: Cluster) -> None:
    listed = await custom(cluster.api).list_namespaced_custom_object(
        GROUP, VERSION, cluster.namespace, PLURAL
    )
    start = listed["metadata"]["resourceVersion"]
    await create(cluster.api, appconfig(cluster.namespace, "web"))
    await create(
        cluster.api,
        {
            **appconfig(cluster.namespace, "other"),
            "metadata": {
                "name": "other",
                "namespace": cluster.namespace,
                "labels": {"team": "ops"},
            },
        },
    )
    await _merge(cluster, "web", {"spec": {"replicas": 3}})
    await custom(cluster.api).delete_namespaced_custom_object(
        GROUP, VERSION, cluster.namespace, PLURAL, "web"
    )
    resp = await custom(cluster.api).list_namespaced_custom_object(
        GROUP,
        VERSION,
        cluster.namespace,
        PLURAL,
        watch=True,
        resource_version=start,
        label_selector="team=core",
        timeout_seconds=5,
        _preload_content=False,
    )
    seen: list[tuple[str, str]] = []

    async def read() -> None:
        async for line in resp.content:
            event = json.loads(line)
            seen.append((event["type"], event["object"]["metadata"]["name"]))
            if event["type"] == "DELETED":
                return

    try:
        await asyncio.wait_for(read(), timeout=10)
    finally:
        resp.release()
    assert seen == [("ADDED", "web"), ("MODIFIED", "web"), ("DELETED", "web")]
