"""Convergence (guarantee 3): hand edits and deletions in the cluster are repaired, and a
change whose Kafka message was lost is re-driven by anti-entropy."""

from __future__ import annotations

from typing import Any

from kubernetes_asyncio import client

from api.persistence import outbox
from tests.integration.pipeline.harness import Pipeline, version_in_yaml
from tests.waiting import eventually

MERGE = {"content-type": "application/merge-patch+json"}


def body(name: str, **spec: Any) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"app": "web", "environment": "dev", **spec}}


async def replicas(pipe: Pipeline, name: str) -> int | None:
    cr = await pipe.live_cr(name)
    return None if cr is None else int(cr["spec"]["replicas"])


async def test_hand_edit_and_hand_delete_are_repaired(pipe: Pipeline) -> None:
    pipe.start_drift_repair()
    created = await pipe.api.post(
        pipe.base, json=body("web", replicas=3), params={"wait": "synced", "timeout": "30s"}
    )
    assert created.status_code == 200, created.text
    custom = client.CustomObjectsApi(pipe.kube)
    await custom.patch_namespaced_custom_object(
        "rendersync.dev",
        "v1alpha1",
        pipe.ns,
        "appconfigs",
        "web",
        {"spec": {"replicas": 42}},
        field_manager="kubectl-edit",
        _content_type="application/merge-patch+json",  # type: ignore[call-arg]
    )

    async def restored() -> bool:
        return await replicas(pipe, "web") == 3

    await eventually(restored, what="hand edit reverted")
    await custom.delete_namespaced_custom_object(
        "rendersync.dev", "v1alpha1", pipe.ns, "appconfigs", "web"
    )

    async def recreated() -> bool:
        return await replicas(pipe, "web") == 3

    await eventually(recreated, what="hand-deleted CR re-created")


async def test_anti_entropy_re_drives_a_change_whose_message_was_lost(pipe: Pipeline) -> None:
    await pipe.api.post(pipe.base, json=body("lost"), params={"wait": "synced", "timeout": "30s"})
    await pipe.stop("relay")
    changed = await pipe.api.patch(
        f"{pipe.base}/lost", json={"spec": {"replicas": 7}}, headers=MERGE
    )
    version = int(changed.json()["metadata"]["resourceVersion"])
    # The message is lost: marked published, never sent.
    pending = outbox.fetch_unpublished(pipe.engine, limit=10)
    assert [e.seq for e in pending] == [version]
    outbox.mark_published(pipe.engine, seqs=[version])
    pipe.start_relay()
    pipe.start_anti_entropy(interval_s=0.5, grace_s=0.0)

    async def converged() -> bool:
        text = pipe.git_file("lost")
        return (
            await replicas(pipe, "lost") == 7
            and text is not None
            and (version_in_yaml(text) == version)
        )

    await eventually(converged, what="lost change applied by anti-entropy")
