"""Convergence (guarantee 3): hand edits and deletions in the cluster are repaired (a forged
version annotation and a hand re-applied older manifest included), and a change whose Kafka
message was lost is re-driven by anti-entropy."""

from __future__ import annotations

from typing import Any

from kubernetes_asyncio import client
from prometheus_client import REGISTRY

from persistence import outbox
from tests.support.builders import body
from tests.support.pipeline import Pipeline, version_in_yaml
from tests.support.signalling import RecordingSignaller
from tests.support.waiting import eventually
from vocabulary import TARGET_KUBERNETES, VERSION_ANNOTATION
from worker.driftrepair import DriftRepair

MERGE = {"content-type": "application/merge-patch+json"}


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


async def hand_patch(pipe: Pipeline, name: str, patch: dict[str, Any]) -> None:
    """A merge patch as ``kubectl annotate --overwrite`` / ``kubectl patch --type merge``."""
    await client.CustomObjectsApi(pipe.kube).patch_namespaced_custom_object(
        "rendersync.dev",
        "v1alpha1",
        pipe.ns,
        "appconfigs",
        name,
        patch,
        field_manager="kubectl",
        _content_type="application/merge-patch+json",  # type: ignore[call-arg]
    )


async def two_versions(pipe: Pipeline, name: str) -> tuple[int, int]:
    """``name`` synced at 3 replicas, then at 5: both versions."""
    wait = {"wait": "synced", "timeout": "30s"}
    first = await pipe.api.post(pipe.base, json=body(name, replicas=3), params=wait)
    second = await pipe.api.patch(
        f"{pipe.base}/{name}", json={"spec": {"replicas": 5}}, headers=MERGE, params=wait
    )
    assert second.status_code == 200, second.text
    return (
        int(first.json()["metadata"]["resourceVersion"]),
        int(second.json()["metadata"]["resourceVersion"]),
    )


async def test_forged_and_older_live_versions_are_drift(pipe: Pipeline) -> None:
    versions = {name: await two_versions(pipe, name) for name in ("forged", "older", "moving")}
    recorder = RecordingSignaller()
    repair = DriftRepair(api=pipe.kube, engine=pipe.engine, signaller=recorder)
    pipe.start_supervised("drift", lambda stop: repair.run(stop=stop))

    def annotated(version: int) -> dict[str, Any]:
        return {"metadata": {"annotations": {VERSION_ANNOTATION: str(version)}}}

    # kubectl annotate ... rendersync.dev/version=999: above the row's version.
    await hand_patch(pipe, "forged", annotated(999))
    # An older manifest re-applied by hand, with a spec that version never had.
    await hand_patch(pipe, "older", {**annotated(versions["older"][0]), "spec": {"replicas": 9}})
    # Exactly what the older version renders: a sync under way, not drift.
    await hand_patch(pipe, "moving", {**annotated(versions["moving"][0]), "spec": {"replicas": 3}})

    def forced() -> dict[str, int]:
        return {e.key.split("/")[1]: e.seq for e in recorder.events if e.force}

    async def repaired() -> bool:
        return {"forged", "older"} <= set(forced())

    await eventually(repaired, timeout_s=30, what="forced re-applies of forged and older")
    assert forced()["forged"] == versions["forged"][1]
    assert forced()["older"] == versions["older"][1]
    # The watch delivers in order: a later drift seen means the earlier event was judged.
    await pipe.api.post(pipe.base, json=body("probe"), params={"wait": "synced", "timeout": "30s"})
    await hand_patch(pipe, "probe", annotated(999))

    async def probed() -> bool:
        return "probe" in forced()

    await eventually(probed, timeout_s=30, what="forced re-apply of probe")
    assert "moving" not in forced()


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


def drift_events(outcome: str) -> float:
    value = REGISTRY.get_sample_value(
        "rendersync_drift_events_total", {"target": TARGET_KUBERNETES, "outcome": outcome}
    )
    return value or 0.0


async def test_drift_repair_does_not_check_its_own_workers_writes(pipe: Pipeline) -> None:
    before = {outcome: drift_events(outcome) for outcome in ("own", "checked", "drift")}
    pipe.start_drift_repair()
    created = await pipe.api.post(
        pipe.base, json=body("web", replicas=3), params={"wait": "synced", "timeout": "30s"}
    )
    assert created.status_code == 200, created.text

    # The create, the apply and the status write are states this worker wrote (a watch that
    # connected after them lists the last one).
    async def own_seen() -> bool:
        return drift_events("own") > before["own"]

    await eventually(own_seen, timeout_s=30, what="the worker's own writes seen by the watch")
    await hand_patch(pipe, "web", {"spec": {"replicas": 42}})

    async def repaired() -> bool:
        return await replicas(pipe, "web") == 3

    await eventually(repaired, timeout_s=30, what="hand edit reverted")
    # Only the hand edit was compared with the database; the repair's writes were the worker's.
    assert drift_events("drift") - before["drift"] == 1
    assert drift_events("checked") - before["checked"] == 0
