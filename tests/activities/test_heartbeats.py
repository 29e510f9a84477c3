"""Heartbeats under a real worker: an attempt that is timed out or cancelled while it waits
learns of it and stops before it writes; a healthy attempt outlives its heartbeat timeout."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError
from temporalio.testing import ActivityEnvironment
from temporalio.worker import Worker

from activities.git import GitActivities
from tests.activities.conftest import Kube, PushGate, Rows, apply_request
from tests.gitops.conftest import git
from tests.support.waiting import eventually
from vocabulary import git_path
from workflows.contracts import ApplyRequest, TargetResult
from workflows.declarations import GIT, KUBERNETES


@dataclass(frozen=True)
class Attempt:
    activity: str
    request: ApplyRequest
    start_to_close_s: float
    heartbeat_timeout_s: float


@workflow.defn(sandboxed=False)
class AttemptOnce:
    """Runs one attempt of an activity; the ``cancel`` signal cancels it, as the sync workflow
    cancels an attempt that a newer change superseded."""

    def __init__(self) -> None:
        self._cancel = False

    @workflow.signal
    def cancel(self) -> None:
        self._cancel = True

    @workflow.run
    async def run(self, attempt: Attempt) -> str:
        handle = workflow.start_activity(
            attempt.activity,
            attempt.request,
            result_type=TargetResult,
            start_to_close_timeout=timedelta(seconds=attempt.start_to_close_s),
            heartbeat_timeout=timedelta(seconds=attempt.heartbeat_timeout_s),
            retry_policy=RetryPolicy(maximum_attempts=1),
        )
        await workflow.wait_condition(lambda: self._cancel or handle.done())
        if not handle.done():
            handle.cancel()
        try:
            await handle
        except ActivityError as err:
            return f"{type(err.cause).__name__}: {err.cause}"
        return "completed"


Apply = Callable[[ApplyRequest], Awaitable[TargetResult]]


def recorded(name: str, apply: Apply, outcomes: list[str]) -> Callable[..., object]:
    """The activity as the worker serves it, noting how each attempt ended."""

    @activity.defn(name=name)
    async def attempt(request: ApplyRequest) -> TargetResult:
        try:
            result = await apply(request)
        except asyncio.CancelledError:
            outcomes.append("cancelled")
            raise
        except BaseException as err:
            outcomes.append(type(err).__name__)
            raise
        outcomes.append("completed")
        return result

    return attempt


async def _run(client: Client, served: Callable[..., object], attempt: Attempt) -> str:
    """Start the attempt's workflow on a worker of its own and return its handle's result."""
    queue = f"heartbeats-{uuid.uuid4().hex}"
    async with Worker(client, task_queue=queue, workflows=[AttemptOnce], activities=[served]):
        handle = await client.start_workflow(
            AttemptOnce.run, attempt, id=f"attempt-{uuid.uuid4().hex}", task_queue=queue
        )
        return await asyncio.wait_for(handle.result(), timeout=60)


async def _held(gate: PushGate, git_activities: GitActivities, rows: Rows) -> asyncio.Task[object]:
    """Another key's write holding the clone's repository lock (its push is held)."""
    other = apply_request(rows.create("other"))
    holder: asyncio.Task[object] = asyncio.create_task(
        ActivityEnvironment().run(git_activities.apply, other)
    )
    await eventually(lambda: _true(gate.entered()), timeout_s=20, what="the push to be held")
    return holder


async def test_attempt_timed_out_while_queued_stops_before_it_writes(
    temporal_client: Client,
    rows: Rows,
    git_activities: GitActivities,
    git_remote: Path,
    push_gate: PushGate,
) -> None:
    row = rows.create("web")
    holder = await _held(push_gate, git_activities, rows)
    outcomes: list[str] = []
    served = recorded(GIT.apply.name, git_activities.apply, outcomes)

    result = await _run(temporal_client, served, Attempt(GIT.apply.name, apply_request(row), 3, 1))
    assert result.startswith("TimeoutError"), result
    await eventually(lambda: _true(bool(outcomes)), timeout_s=15, what="the attempt to end")
    assert outcomes == ["cancelled"]

    push_gate.open()
    await asyncio.wait_for(holder, timeout=30)
    # A later write of the same clone writes whatever still waits for the lock.
    await ActivityEnvironment().run(git_activities.apply, apply_request(rows.create("third")))
    files = git("ls-tree", "-r", "--name-only", "main", cwd=git_remote).split()
    assert git_path(rows.namespace, "third") in files
    assert git_path(rows.namespace, "web") not in files, "the timed-out attempt wrote"


async def test_attempt_cancelled_by_its_workflow_stops_before_it_writes(
    temporal_client: Client, rows: Rows, kube: Kube
) -> None:
    row = rows.create("web")
    slow = kube.emulator.faults.add(
        method="GET", path_regex=r"/appconfigs/web(\?|$)", latency_s=4, count=1
    )
    outcomes: list[str] = []
    served = recorded(KUBERNETES.apply.name, kube.activities.apply, outcomes)
    queue = f"heartbeats-{uuid.uuid4().hex}"
    async with Worker(
        temporal_client, task_queue=queue, workflows=[AttemptOnce], activities=[served]
    ):
        handle = await temporal_client.start_workflow(
            AttemptOnce.run,
            Attempt(KUBERNETES.apply.name, apply_request(row), 30, 1),
            id=f"attempt-{uuid.uuid4().hex}",
            task_queue=queue,
        )
        await eventually(lambda: _true(slow.hits == 1), timeout_s=15, what="the apply to read")
        await handle.signal(AttemptOnce.cancel)
        result = await asyncio.wait_for(handle.result(), timeout=30)
        assert result.startswith("CancelledError"), result
        await eventually(lambda: _true(bool(outcomes)), timeout_s=15, what="the attempt to end")
    assert outcomes == ["cancelled"]
    assert await kube.live("web") is None, "the cancelled attempt created the CR"


async def test_attempt_longer_than_its_heartbeat_timeout_completes(
    temporal_client: Client,
    rows: Rows,
    git_activities: GitActivities,
    git_remote: Path,
    push_gate: PushGate,
) -> None:
    row = rows.create("web")
    holder = await _held(push_gate, git_activities, rows)
    outcomes: list[str] = []
    served = recorded(GIT.apply.name, git_activities.apply, outcomes)

    async def release_later() -> None:
        queue = git_activities.place("").repo._queue()
        await eventually(lambda: _true(len(queue) == 1), timeout_s=15, what="the apply to queue")
        await asyncio.sleep(2.5)  # the point: held for longer than the heartbeat timeout
        push_gate.open()

    release = asyncio.create_task(release_later())
    result = await _run(temporal_client, served, Attempt(GIT.apply.name, apply_request(row), 30, 1))
    await release
    await asyncio.wait_for(holder, timeout=30)
    assert result == "completed"
    assert outcomes == ["completed"]
    files = git("ls-tree", "-r", "--name-only", "main", cwd=git_remote).split()
    assert git_path(rows.namespace, "web") in files


async def _true(value: bool) -> bool:
    return value
