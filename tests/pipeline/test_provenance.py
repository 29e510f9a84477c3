"""Provenance on the real pipeline: every version of a key says where it went, and each link
is checked against its source: the record on the broker at the stated offset, the activity
in the workflow's history, the Git commit and the live custom resource."""

from __future__ import annotations

import asyncio
import json
import subprocess
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from temporalio.api.enums.v1 import EventType

from rendersync.ops import tracing
from rendersync.ops.context import Ops
from rendersync.settings import DbSettings, Settings
from tests.support.builders import body
from tests.support.pipeline import Pipeline, version_in_yaml
from tests.support.waiting import eventually

CR_PATH = "/apis/rendersync.dev/v1alpha1/namespaces/.*/appconfigs"
MERGE = {"content-type": "application/merge-patch+json"}


async def traced(pipe: Pipeline, name: str) -> dict[int, dict[str, Any]]:
    answer = await pipe.api.get(f"{pipe.base}/{name}/history", params={"provenance": "true"})
    assert answer.status_code == 200, answer.text
    return {int(r["resourceVersion"]): r["provenance"] for r in answer.json()["items"]}


async def wait_outcome(pipe: Pipeline, name: str, version: int, outcome: str) -> dict[str, Any]:
    found: dict[str, Any] = {}

    async def reached() -> bool:
        found.update((await traced(pipe, name)).get(version, {}))
        return found.get("outcome") == outcome

    await eventually(reached, timeout_s=60, what=f"v{version} of {name} {outcome}: {found}")
    return found


async def check_published(pipe: Pipeline, name: str, version: int, link: dict[str, Any]) -> None:
    """The broker holds this key's event of ``version`` at the stated coordinates."""
    assert link["outcome"] == "published", link
    assert link["topic"] == pipe.topic
    consumer = AIOKafkaConsumer(bootstrap_servers=pipe.bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        partition = TopicPartition(link["topic"], link["partition"])
        consumer.assign([partition])
        consumer.seek(partition, link["offset"])
        record = await consumer.getone()
    finally:
        await consumer.stop()
    assert record.offset == link["offset"]
    assert record.key == f"{pipe.ns}/{name}".encode()
    assert record.value is not None
    envelope = json.loads(record.value)
    assert envelope.get("payload", envelope)["source"]["lsn"] == version


async def check_in_history(pipe: Pipeline, step: dict[str, Any]) -> int:
    """The step's activity is in its run's history at the stated attempt; returns the
    history event id of its ActivityTaskScheduled."""
    handle = pipe.client.get_workflow_handle(step["workflowId"], run_id=step["runId"])
    history = await handle.fetch_history()
    scheduled = {
        e.event_id: e.activity_task_scheduled_event_attributes
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    }
    matching = [i for i, a in scheduled.items() if a.activity_id == step["activityId"]]
    assert len(matching) == 1, (step, list(scheduled.values()))
    event_id = matching[0]
    assert scheduled[event_id].activity_type.name == step["activityType"]
    started = [
        e.activity_task_started_event_attributes
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED
        and e.activity_task_started_event_attributes.scheduled_event_id == event_id
    ]
    assert started, event_id
    assert started[0].attempt == step["attempt"], started
    return event_id


def git(pipe: Pipeline, *args: str) -> str:
    return subprocess.run(
        ["git", "--git-dir", str(pipe.remote), *args], capture_output=True, text=True, check=True
    ).stdout


def check_commit(pipe: Pipeline, name: str, version: int, step: dict[str, Any]) -> None:
    sha = step["commit"]
    path = f"appconfigs/{pipe.ns}/{name}.yaml"
    assert git(pipe, "merge-base", "--is-ancestor", sha, "main") == ""
    message = git(pipe, "log", "-1", "--format=%B", sha)
    assert f"Rendersync-Version: {version}" in message, message
    assert f"Rendersync-Workflow: {step['workflowId']}" in message, message
    assert f"Rendersync-Run: {step['runId']}" in message, message
    shown = subprocess.run(
        ["git", "--git-dir", str(pipe.remote), "show", f"{sha}:{path}"],
        capture_output=True,
        text=True,
        check=False,
    )
    if step["stage"] == "git" and step["outcome"] == "removed":
        assert shown.returncode != 0  # the commit removed the file
    else:
        assert version_in_yaml(shown.stdout) == version


async def check_synced(pipe: Pipeline, name: str, version: int, found: dict[str, Any]) -> None:
    await check_published(pipe, name, version, found["published"])
    steps = {s["stage"]: s for s in found["steps"]}
    assert steps["kubernetes"]["outcome"] == steps["git"]["outcome"] == "applied", steps
    for step in steps.values():
        assert step["workflowId"] == f"appconfig:{pipe.ns}/{name}"
        await check_in_history(pipe, step)
    check_commit(pipe, name, version, steps["git"])
    live = await pipe.live_cr(name)
    assert live is not None
    assert steps["kubernetes"]["uid"] == live["metadata"]["uid"]
    assert int(steps["kubernetes"]["resourceVersion"]) <= int(live["metadata"]["resourceVersion"])


@pytest.mark.timeout(240)
async def test_every_version_says_where_it_went(pipe: Pipeline) -> None:
    name = "traced"
    created = await pipe.api.post(pipe.base, json=body(name, replicas=1))
    v1 = int(created.json()["metadata"]["resourceVersion"])
    found = await wait_outcome(pipe, name, v1, "synced")
    await check_synced(pipe, name, v1, found)

    updated = await pipe.api.patch(
        f"{pipe.base}/{name}", json={"spec": {"replicas": 2}}, headers=MERGE
    )
    v2 = int(updated.json()["metadata"]["resourceVersion"])
    await check_synced(pipe, name, v2, await wait_outcome(pipe, name, v2, "synced"))

    # Coalesced: two writes reach the bridge in one batch; only the newer one is synced.
    await pipe.stop("bridge")
    v3 = int(
        (
            await pipe.api.patch(
                f"{pipe.base}/{name}", json={"spec": {"replicas": 3}}, headers=MERGE
            )
        ).json()["metadata"]["resourceVersion"]
    )
    v4 = int(
        (
            await pipe.api.patch(
                f"{pipe.base}/{name}", json={"spec": {"replicas": 4}}, headers=MERGE
            )
        ).json()["metadata"]["resourceVersion"]
    )
    await wait_outcome(pipe, name, v4, "published")
    pipe.start_bridge()
    await check_synced(pipe, name, v4, await wait_outcome(pipe, name, v4, "synced"))
    skipped = await wait_outcome(pipe, name, v3, "coalesced")
    assert skipped["coalescedInto"] == v4
    await check_published(pipe, name, v3, skipped["published"])
    assert [s["stage"] for s in skipped["steps"]] == ["sync"]
    assert skipped["steps"][0]["workflowId"] == f"appconfig:{pipe.ns}/{name}"

    # Failed: the API server refuses the apply for good.
    pipe.emulator.faults.add(method="PATCH", path_regex=CR_PATH, status=422, count=1)
    v5 = int(
        (
            await pipe.api.patch(
                f"{pipe.base}/{name}", json={"spec": {"replicas": 5}}, headers=MERGE
            )
        ).json()["metadata"]["resourceVersion"]
    )
    failed = await wait_outcome(pipe, name, v5, "failed")
    await check_published(pipe, name, v5, failed["published"])
    assert "422" in failed["error"] or "Invalid" in failed["error"], failed
    kube = next(s for s in failed["steps"] if s["stage"] == "kubernetes")
    assert kube["outcome"] == "failed"
    await check_in_history(pipe, kube)
    assert not any(s["stage"] == "git" for s in failed["steps"])  # never reached

    # Deleted: the tombstone's version is the compensation, on both targets.
    deleted = await pipe.api.delete(f"{pipe.base}/{name}")
    v6 = int(deleted.json()["metadata"]["resourceVersion"])
    gone = await wait_outcome(pipe, name, v6, "deleted")
    await check_published(pipe, name, v6, gone["published"])
    steps = {s["stage"]: s for s in gone["steps"]}
    assert steps["kubernetes"]["outcome"] == steps["git"]["outcome"] == "removed", steps
    for step in steps.values():
        await check_in_history(pipe, step)
    check_commit(pipe, name, v6, steps["git"])
    assert await pipe.live_cr(name) is None
    # The history of the deleted key still answers (revisions outlive the purged row).
    assert set(await traced(pipe, name)) == {v1, v2, v3, v4, v5, v6}
    # The CLI's ``syncs trace`` reads the same tables.
    ops = Ops(Settings(db=DbSettings(url=pipe.engine.url.render_as_string(hide_password=False))))
    rows = await asyncio.to_thread(tracing.trace, ops, f"{pipe.ns}/{name}")
    outcomes = {r["version"]: r["outcome"] for r in rows}
    assert outcomes == {
        v1: "synced",
        v2: "synced",
        v3: "coalesced",
        v4: "synced",
        v5: "failed",
        v6: "deleted",
    }
    one = await asyncio.to_thread(tracing.trace, ops, f"{pipe.ns}/{name}", v4)
    assert [r["version"] for r in one] == [v4]
    assert f"kafka {pipe.topic}/" in one[0]["links"]
    assert "git applied" in one[0]["links"]
