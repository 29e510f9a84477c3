"""The version annotation is hand-editable: a live version above the row's seq is drift that
the next write repairs, never a newer incarnation, and never recorded as applied."""

from __future__ import annotations

import asyncio
from typing import Any

from kubernetes_asyncio import client
from temporalio.testing import ActivityEnvironment

from k8s.manifests import version_of
from tests.activities.conftest import Kube, Rows, apply_request, delete_request
from tests.support.waiting import eventually
from vocabulary import GROUP, PLURAL, TARGET_KUBERNETES, VERSION, VERSION_ANNOTATION


async def annotate(kube: Kube, name: str, version: str) -> None:
    """``kubectl annotate --overwrite appconfig NAME rendersync.dev/version=VERSION``."""
    merge: dict[str, Any] = {"_content_type": "application/merge-patch+json"}
    await client.CustomObjectsApi(kube.api).patch_namespaced_custom_object(
        GROUP, VERSION, kube.namespace, PLURAL, name,
        {"metadata": {"annotations": {VERSION_ANNOTATION: version}}},
        **merge,
    )  # fmt: skip


async def test_annotated_999_is_overwritten_and_never_recorded(kube: Kube, rows: Rows) -> None:
    first = rows.create("web")
    await ActivityEnvironment().run(kube.activities.apply, apply_request(first))
    await annotate(kube, "web", "999")

    # A forced re-apply of the row's version (drift repair, resync) repairs it...
    again = await ActivityEnvironment().run(kube.activities.apply, apply_request(first))
    live = await kube.live("web")
    assert live is not None
    assert version_of(live) == first.seq
    assert live["status"]["observedVersion"] == first.seq
    assert again.version == first.seq
    assert rows.applied("web", TARGET_KUBERNETES) == first.seq

    # ...and so does the next change.
    await annotate(kube, "web", "999")
    second = rows.update("web", replicas=3)
    result = await ActivityEnvironment().run(kube.activities.apply, apply_request(second))
    live = await kube.live("web")
    assert live is not None
    assert not result.skipped_newer
    assert (version_of(live), live["spec"]["replicas"]) == (second.seq, 3)
    assert live["status"]["observedVersion"] == second.seq
    assert rows.applied("web", TARGET_KUBERNETES) == second.seq


async def test_delete_removes_a_cr_annotated_above_the_row(kube: Kube, rows: Rows) -> None:
    row = rows.create("web")
    await ActivityEnvironment().run(kube.activities.apply, apply_request(row))
    await annotate(kube, "web", "999")

    tombstone = rows.delete("web")
    await ActivityEnvironment().run(kube.activities.delete, delete_request(tombstone))

    assert await kube.live("web") is None, "the hand-annotated CR outlived its delete"


async def test_a_late_status_of_an_older_apply_never_sets_observed_version_back(
    kube: Kube, rows: Rows
) -> None:
    first = rows.create("web")
    # The attempt for the first version writes its status late (a slow API server)...
    slow = kube.emulator.faults.add(
        method="PATCH", path_regex=r"/appconfigs/web/status", latency_s=3, count=1
    )
    late = asyncio.create_task(
        ActivityEnvironment().run(kube.activities.apply, apply_request(first))
    )
    await eventually(lambda: _true(slow.hits == 1), timeout_s=10, what="the status write")
    # ...after the next version was applied with its status.
    second = rows.update("web", replicas=3)
    await ActivityEnvironment().run(kube.activities.apply, apply_request(second))
    await asyncio.wait_for(late, timeout=30)

    live = await kube.live("web")
    assert live is not None
    assert version_of(live) == second.seq
    assert live["status"]["observedVersion"] == second.seq, "a late status moved it back"


async def _true(value: bool) -> bool:
    return value
