"""Client operations: fenced server-side apply under concurrent writers, fenced and
idempotent delete, status write-back through the status subresource."""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from k8s.applying import apply_appconfig, delete_appconfig, read_appconfig, update_status
from k8s.manifests import version_of
from k8s.watching import watch_appconfigs
from tests.k8s.conftest import Cluster
from tests.k8s.helpers import appconfig, custom, get
from vocabulary import GROUP, PLURAL, VERSION

pytestmark = pytest.mark.realcluster

MERGE: dict[str, Any] = {"_content_type": "application/merge-patch+json"}


async def test_apply_creates_then_updates_and_is_idempotent(cluster: Cluster) -> None:
    first = await apply_appconfig(cluster.api, cr=appconfig(cluster.namespace, "web", seq=1))
    assert (first.version, first.skipped_newer) == (1, False)
    live = await get(cluster.api, cluster.namespace, "web")
    assert {e["manager"] for e in live["metadata"]["managedFields"]} >= {"rendersync"}
    again = await apply_appconfig(cluster.api, cr=appconfig(cluster.namespace, "web", seq=1))
    assert again.resource_version == first.resource_version
    spec = {"app": "web", "environment": "staging", "replicas": 2}
    second = await apply_appconfig(
        cluster.api, cr=appconfig(cluster.namespace, "web", seq=2, spec=spec)
    )
    live = await get(cluster.api, cluster.namespace, "web")
    assert (second.version, version_of(live), live["spec"]["environment"]) == (2, 2, "staging")


async def test_apply_never_replaces_a_newer_version(cluster: Cluster) -> None:
    await apply_appconfig(cluster.api, cr=appconfig(cluster.namespace, "web", seq=5))
    stale = appconfig(cluster.namespace, "web", seq=4, spec={"app": "old", "environment": "dev"})
    outcome = await apply_appconfig(cluster.api, cr=stale)
    assert outcome.skipped_newer
    assert outcome.version == 5
    live = await get(cluster.api, cluster.namespace, "web")
    assert live["spec"]["app"] == "web"


async def test_concurrent_appliers_never_move_the_version_back(cluster: Cluster) -> None:
    seen: list[int] = []

    async def observe() -> None:
        async for event in watch_appconfigs(cluster.api, namespace=cluster.namespace):
            seen.append(version_of(event.object))
            if seen[-1] == 50:
                return

    async def writer(versions: list[int]) -> None:
        for v in versions:
            await apply_appconfig(cluster.api, cr=appconfig(cluster.namespace, "web", seq=v))

    watcher = asyncio.create_task(observe())
    evens = list(range(2, 51, 2))
    random.Random(7).shuffle(evens)
    await asyncio.gather(writer(list(range(1, 50, 2))), writer(evens))
    await asyncio.wait_for(watcher, timeout=20)
    assert seen == sorted(seen), seen
    assert version_of(await get(cluster.api, cluster.namespace, "web")) == 50


async def test_delete_is_idempotent_and_fenced(cluster: Cluster) -> None:
    assert not await delete_appconfig(
        cluster.api, namespace=cluster.namespace, name="web", version=1
    )
    await apply_appconfig(cluster.api, cr=appconfig(cluster.namespace, "web", seq=3))
    kept = await delete_appconfig(cluster.api, namespace=cluster.namespace, name="web", version=2)
    assert not kept
    assert await read_appconfig(cluster.api, namespace=cluster.namespace, name="web") is not None
    assert await delete_appconfig(cluster.api, namespace=cluster.namespace, name="web", version=3)
    assert await read_appconfig(cluster.api, namespace=cluster.namespace, name="web") is None
    assert not await delete_appconfig(
        cluster.api, namespace=cluster.namespace, name="web", version=3
    )


async def test_update_status_uses_the_status_subresource(cluster: Cluster) -> None:
    missing = await update_status(
        cluster.api,
        namespace=cluster.namespace,
        name="web",
        status={"observedVersion": 1},
        version=1,
        resource_version="1",
    )
    assert missing is None
    applied = await apply_appconfig(cluster.api, cr=appconfig(cluster.namespace, "web", seq=1))
    condition = {"type": "Synced", "status": "True", "reason": "Applied", "message": "v1"}
    rv = await update_status(
        cluster.api,
        namespace=cluster.namespace,
        name="web",
        status={"observedVersion": 1, "conditions": [condition]},
        version=1,
        resource_version=applied.resource_version,
    )
    live = await get(cluster.api, cluster.namespace, "web")
    assert rv == live["metadata"]["resourceVersion"]
    assert live["status"]["observedVersion"] == 1
    assert live["metadata"]["generation"] == 1
    # A later apply (spec owner) must leave the status alone.
    await apply_appconfig(cluster.api, cr=appconfig(cluster.namespace, "web", seq=2))
    assert (await get(cluster.api, cluster.namespace, "web"))["status"]["observedVersion"] == 1


async def test_status_is_written_only_for_the_version_that_is_live(cluster: Cluster) -> None:
    first = await apply_appconfig(cluster.api, cr=appconfig(cluster.namespace, "web", seq=1))
    second = await apply_appconfig(cluster.api, cr=appconfig(cluster.namespace, "web", seq=2))
    assert await update_status(
        cluster.api, namespace=cluster.namespace, name="web", status={"observedVersion": 2},
        version=2, resource_version=second.resource_version,
    )  # fmt: skip

    # The status of version 1, pinned to what its apply returned, comes too late.
    stale = await update_status(
        cluster.api, namespace=cluster.namespace, name="web", status={"observedVersion": 1},
        version=1, resource_version=first.resource_version,
    )  # fmt: skip
    assert stale is None
    assert (await get(cluster.api, cluster.namespace, "web"))["status"]["observedVersion"] == 2

    # Another writer changed the object, but it still holds version 2: the status is written.
    await custom(cluster.api).patch_namespaced_custom_object(
        GROUP, VERSION, cluster.namespace, PLURAL, "web", {"metadata": {"labels": {"x": "y"}}},
        **MERGE,
    )  # fmt: skip
    again = await update_status(
        cluster.api, namespace=cluster.namespace, name="web", status={"observedVersion": 2},
        version=2, resource_version=second.resource_version,
    )  # fmt: skip
    assert (
        again == (await get(cluster.api, cluster.namespace, "web"))["metadata"]["resourceVersion"]
    )
