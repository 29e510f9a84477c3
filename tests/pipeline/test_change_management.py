"""Preview and rollback on the real pipeline: a preview diffs against the live CR (a hand edit
it would revert) and the Git branch tip and leaves everything untouched (seq, rows, outbox,
revisions, Kafka); a rollback reaches both targets at a new version and shows in history, and
recreates a deleted key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition
from kubernetes_asyncio import client
from sqlalchemy import text

from api.web.app import create_app
from api.web.previewing import PreviewTargets
from k8s.dryrun import ClusterDryRun
from persistence import reading
from persistence.reading import count_rows, current_seq
from rendersync.gittip import GitTipReader
from tests.support.builders import body
from tests.support.pipeline import Pipeline
from tests.support.waiting import eventually
from vocabulary import GROUP, PLURAL, VERSION

MERGE = {"content-type": "application/merge-patch+json"}
KUBE_MERGE: dict[str, Any] = {"_content_type": "application/merge-patch+json"}


@pytest_asyncio.fixture
async def previewing(pipe: Pipeline, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """The pipeline's API with preview clients, as ``rendersync api`` builds it."""
    targets = PreviewTargets(
        clusters={"kubernetes": ClusterDryRun(kubeconfig=tmp_path / "kubeconfig", context=None)},
        tips={"git": GitTipReader(remote=str(pipe.remote), branch="main")},
    )
    app = create_app(
        engine=pipe.engine, targets=pipe.options.targets, ui_url="http://ui", previews=targets
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://api"
    ) as api:
        yield api


async def kafka_ends(pipe: Pipeline) -> dict[int, int]:
    consumer = AIOKafkaConsumer(bootstrap_servers=pipe.bootstrap)
    await consumer.start()
    try:
        partitions = [TopicPartition(pipe.topic, p) for p in range(3)]
        ends = await consumer.end_offsets(partitions)
        return {tp.partition: offset for tp, offset in ends.items()}
    finally:
        await consumer.stop()


async def untouched(pipe: Pipeline) -> tuple[Any, ...]:
    with pipe.engine.connect() as conn:
        outbox = int(conn.execute(text("SELECT count(*) FROM outbox")).scalar_one())
    head = pipe.git_versions("web")
    return current_seq(pipe.engine), count_rows(pipe.engine), outbox, head, await kafka_ends(pipe)


async def synced(pipe: Pipeline, name: str, version: int) -> None:
    """Both targets hold ``version`` and both reported it (the status write follows the
    push, so the targets alone are not the end of the sync)."""

    async def reported() -> bool:
        statuses = reading.sync_status_rows(pipe.engine, namespace=pipe.ns, name=name)
        done = {s.target for s in statuses if s.applied_version >= version}
        return await pipe.converged(name, version) and done >= set(pipe.options.targets)

    await eventually(reported, what=f"{name}@{version} everywhere, and reported")


@pytest.mark.timeout(180)
async def test_a_preview_diffs_against_a_hand_edited_cr_and_writes_nothing(
    pipe: Pipeline, previewing: httpx.AsyncClient
) -> None:
    made = await previewing.post(pipe.base, json=body("web", replicas=2))
    v1 = int(made.json()["metadata"]["resourceVersion"])
    await synced(pipe, "web", v1)
    await client.CustomObjectsApi(pipe.kube).patch_namespaced_custom_object(
        GROUP,
        VERSION,
        pipe.ns,
        PLURAL,
        "web",
        {"spec": {"replicas": 9}},
        field_manager="kubectl-edit",
        **KUBE_MERGE,
    )
    before = await untouched(pipe)

    answer = await previewing.patch(
        f"{pipe.base}/web",
        json={"spec": {"data": {"MODE": "fast"}}},
        headers=MERGE,
        params={"dryRun": "All"},
    )
    assert answer.status_code == 200, answer.text
    preview = answer.json()
    assert preview["database"] == {"op": "update", "current": v1, "next": v1 + 1, "generation": 2}
    kube = preview["targets"]["kubernetes"]
    assert kube["state"] == "Compared", kube
    changes = {c["path"]: c for c in kube["changes"]}
    assert changes["spec.replicas"] == {
        "path": "spec.replicas",
        "op": "replace",
        "before": 9,
        "after": 2,
    }, "the hand edit is reverted"
    assert changes["spec.data.MODE"] == {
        "path": "spec.data.MODE",
        "op": "add",
        "before": None,
        "after": "fast",
    }
    assert "-  replicas: 9\n+  replicas: 2\n" in kube["diff"]
    git = preview["targets"]["git"]
    assert git["state"] == "Compared", git
    assert git["commit"]
    assert git["path"] == f"appconfigs/{pipe.ns}/web.yaml"
    assert "spec.replicas" not in {c["path"] for c in git["changes"]}, "Git was not hand-edited"
    assert {c["path"] for c in git["changes"]} == {
        "spec.data.MODE",
        'metadata.annotations["rendersync.dev/version"]',
    }
    assert "+    MODE: fast\n" in git["diff"]
    assert "MODE: fast" in preview["rendered"]["gitFile"]

    invalid = await previewing.patch(
        f"{pipe.base}/web",
        json={"spec": {"replicas": 99}},
        headers=MERGE,
        params={"dryRun": "All"},
    )
    assert invalid.status_code == 422
    assert [c["field"] for c in invalid.json()["details"]["causes"]] == ["spec.replicas"]
    assert await untouched(pipe) == before
    live = await pipe.live_cr("web")
    assert live is not None
    assert live["spec"]["replicas"] == 9


@pytest.mark.timeout(180)
async def test_a_rollback_reaches_both_targets_and_history(pipe: Pipeline) -> None:
    v1 = int(
        (await pipe.api.post(pipe.base, json=body("web", replicas=2))).json()["metadata"][
            "resourceVersion"
        ]
    )
    await synced(pipe, "web", v1)
    changed = await pipe.api.patch(
        f"{pipe.base}/web", json={"spec": {"replicas": 6}}, headers=MERGE
    )
    v2 = int(changed.json()["metadata"]["resourceVersion"])
    await synced(pipe, "web", v2)

    rolled = await pipe.api.post(
        f"{pipe.base}/web/rollback",
        json={"toVersion": v1},
        params={"wait": "synced", "timeout": "30s"},
    )
    assert rolled.status_code == 200, rolled.text
    v3 = int(rolled.json()["metadata"]["resourceVersion"])
    assert v3 > v2
    assert rolled.json()["status"]["phase"] == "Synced"
    await synced(pipe, "web", v3)
    live = await pipe.live_cr("web")
    assert live is not None
    assert live["spec"]["replicas"] == 2
    assert live["metadata"]["annotations"]["kubernetes.io/change-cause"] == f"rollback to {v1}"
    text_ = pipe.git_file("web")
    assert text_ is not None
    assert "replicas: 2" in text_
    assert pipe.git_versions("web") == [v1, v2, v3]
    history = (await pipe.api.get(f"{pipe.base}/web/history")).json()["items"]
    assert [(int(h["resourceVersion"]), h["op"]) for h in history] == [
        (v3, "rollback"),
        (v2, "update"),
        (v1, "create"),
    ]

    deleted = await pipe.api.delete(f"{pipe.base}/web")
    assert deleted.status_code == 200

    async def gone() -> bool:
        return await pipe.live_cr("web") is None and pipe.git_file("web") is None

    await eventually(gone, what="web compensated")
    back = await pipe.api.post(f"{pipe.base}/web/rollback", json={"toVersion": v2})
    assert back.status_code == 200, back.text
    v5 = int(back.json()["metadata"]["resourceVersion"])
    await synced(pipe, "web", v5)
    live = await pipe.live_cr("web")
    assert live is not None
    assert live["spec"]["replicas"] == 6
