"""watch_appconfigs: initial listing, live changes, resume after a dropped connection, a
fresh list with reconciling events after 410 Gone, and what the watch keeps of the objects."""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
from collections.abc import AsyncIterator

from kubernetes_asyncio import client

from k8s.applying import apply_appconfig, delete_appconfig
from k8s.manifests import version_of
from k8s.watching import WatchEvent, watch_appconfigs
from rendersync.devstack.k8semulator import Emulator
from tests.k8s.conftest import EVENT_WINDOW
from tests.k8s.helpers import appconfig, create


async def _next(events: AsyncIterator[WatchEvent]) -> tuple[str, str, int]:
    event = await asyncio.wait_for(anext(events), timeout=10)
    return event.type, event.object["metadata"]["name"], version_of(event.object)


async def test_lists_then_follows_changes(api: client.ApiClient) -> None:
    await apply_appconfig(api, cr=appconfig("default", "a", seq=1))
    unmanaged = appconfig("default", "hand-made")
    del unmanaged["metadata"]["labels"]["app.kubernetes.io/managed-by"]
    await create(api, unmanaged)
    events = watch_appconfigs(api, timeout_s=30)
    assert await _next(events) == ("ADDED", "a", 1)
    await apply_appconfig(api, cr=appconfig("default", "a", seq=2))
    assert await _next(events) == ("MODIFIED", "a", 2)
    await delete_appconfig(api, namespace="default", name="a", version=2)
    assert (await _next(events))[:2] == ("DELETED", "a")
    await events.aclose()  # type: ignore[attr-defined]


async def test_resumes_after_a_dropped_connection(
    emulator: Emulator, api: client.ApiClient
) -> None:
    await apply_appconfig(api, cr=appconfig("default", "a", seq=1))
    events = watch_appconfigs(api, timeout_s=30)
    assert await _next(events) == ("ADDED", "a", 1)
    fault = emulator.faults.add(
        method="GET", path_regex=r"watch=True", drop_connection=True, count=1
    )
    await apply_appconfig(api, cr=appconfig("default", "a", seq=2))
    assert await _next(events) == ("MODIFIED", "a", 2)
    assert fault.hits == 1
    await events.aclose()  # type: ignore[attr-defined]


async def test_relists_after_410_gone(api: client.ApiClient) -> None:
    await apply_appconfig(api, cr=appconfig("default", "a", seq=1))
    events = watch_appconfigs(api, timeout_s=30)
    assert await _next(events) == ("ADDED", "a", 1)
    # While the consumer is not pulling, more writes than the server retains go by.
    await delete_appconfig(api, namespace="default", name="a", version=1)
    for seq in range(2, EVENT_WINDOW + 12):
        await apply_appconfig(api, cr=appconfig("default", "b", seq=seq))
    assert (await _next(events))[:2] == ("DELETED", "a")
    assert await _next(events) == ("ADDED", "b", EVENT_WINDOW + 11)
    await apply_appconfig(api, cr=appconfig("default", "b", seq=100))
    assert await _next(events) == ("MODIFIED", "b", 100)
    await events.aclose()  # type: ignore[attr-defined]


async def test_keeps_no_copy_of_the_watched_objects(api: client.ApiClient) -> None:
    """A drift watch over 10,000 keys must not hold 10,000 objects: between events it keeps a
    resourceVersion per key, whatever the size of the objects."""
    count, spec_bytes = 40, 32 * 1024
    for i in range(count):
        blob = {"blob": "x" * spec_bytes}
        spec = {"app": "big", "environment": "dev", "replicas": 1, "data": blob}
        await apply_appconfig(api, cr=appconfig("default", f"big-{i}", spec=spec))
    events = watch_appconfigs(api, timeout_s=30)
    tracemalloc.start()
    try:
        baseline, _ = tracemalloc.get_traced_memory()
        for _ in range(count):
            assert (await _next(events))[0] == "ADDED"
        await apply_appconfig(api, cr=appconfig("default", "small", seq=1))
        assert await _next(events) == ("ADDED", "small", 1)  # the watch is past its listing
        gc.collect()
        held, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Every object once is count * spec_bytes (1.25 MiB); allow a tenth of that for the rest.
    assert held - baseline < count * spec_bytes // 10, f"the watch holds {held - baseline} bytes"
    await events.aclose()  # type: ignore[attr-defined]
