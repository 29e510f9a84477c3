"""The worker's helper loops outlive their errors: drift repair, stopped by an undecodable
watch line or a database error, is restarted (with backoff, counted per loop) and repairs
what was edited meanwhile."""

from __future__ import annotations

from kubernetes_asyncio import client
from prometheus_client import REGISTRY
from sqlalchemy import text

from tests.support.builders import body
from tests.support.pipeline import Pipeline
from tests.support.waiting import eventually


def restarts(loop: str) -> float:
    value = REGISTRY.get_sample_value("rendersync_loop_restarts_total", {"loop": loop})
    return value or 0.0


async def hand_edit(pipe: Pipeline, name: str, replicas: int) -> None:
    await client.CustomObjectsApi(pipe.kube).patch_namespaced_custom_object(
        "rendersync.dev",
        "v1alpha1",
        pipe.ns,
        "appconfigs",
        name,
        {"spec": {"replicas": replicas}},
        field_manager="kubectl-edit",
        _content_type="application/merge-patch+json",  # type: ignore[call-arg]
    )


async def reverted(pipe: Pipeline, name: str, replicas: int) -> None:
    async def restored() -> bool:
        cr = await pipe.live_cr(name)
        return cr is not None and cr["spec"]["replicas"] == replicas

    await eventually(restored, timeout_s=30, what=f"hand edit of {name} reverted")


async def test_drift_repair_survives_an_undecodable_watch_line(pipe: Pipeline) -> None:
    created = await pipe.api.post(
        pipe.base, json=body("web", replicas=3), params={"wait": "synced", "timeout": "30s"}
    )
    assert created.status_code == 200, created.text
    before = restarts("drift")
    # The watch request is answered with a JSON line that is no watch event.
    pipe.emulator.faults.add(method="GET", path_regex="watch=", status=200, count=1)
    pipe.start_drift_repair()

    async def fault_hit() -> bool:
        return pipe.emulator.faults.list() == []

    await eventually(fault_hit, timeout_s=10, what="the watch to get the garbage line")
    await hand_edit(pipe, "web", 42)

    await reverted(pipe, "web", 3)
    assert restarts("drift") >= before + 1


async def test_drift_repair_survives_a_database_error(pipe: Pipeline) -> None:
    created = await pipe.api.post(
        pipe.base, json=body("web", replicas=3), params={"wait": "synced", "timeout": "30s"}
    )
    assert created.status_code == 200, created.text
    before = restarts("drift")
    with pipe.engine.begin() as conn:  # every read of a row now fails
        conn.execute(text("ALTER TABLE appconfigs RENAME TO appconfigs_away"))
    try:
        pipe.start_drift_repair()
        # A hand edit: the watch checks it against the database (the worker's own writes it
        # would skip without a read).
        await hand_edit(pipe, "web", 42)

        async def restarted() -> bool:
            return restarts("drift") >= before + 1

        await eventually(restarted, timeout_s=20, what="drift repair restarted after its error")
    finally:
        with pipe.engine.begin() as conn:
            conn.execute(text("ALTER TABLE appconfigs_away RENAME TO appconfigs"))

    await reverted(pipe, "web", 3)
