"""Zombie attempts: an apply that outlives the delete of its key (compensated, tombstone
purged) must write nothing, since no row backs it and nothing at the target fences it out."""

from __future__ import annotations

import asyncio
from pathlib import Path

from temporalio.testing import ActivityEnvironment

from activities.git import GitActivities, GitPlace
from tests.activities.conftest import Kube, PushGate, Rows, apply_request, clone, delete_request
from tests.gitops.conftest import git
from tests.support.waiting import eventually
from vocabulary import TARGET_GIT, TARGET_KUBERNETES, git_path


async def test_apply_slowed_past_a_compensated_delete_creates_no_cr(kube: Kube, rows: Rows) -> None:
    row = rows.create("web")
    # The apply for the live version reads the (absent) CR slowly: a slow API server.
    slow = kube.emulator.faults.add(
        method="GET", path_regex=r"/appconfigs/web(\?|$)", latency_s=4, count=1
    )
    zombie = asyncio.create_task(
        ActivityEnvironment().run(kube.activities.apply, apply_request(row))
    )
    await eventually(lambda: _true(slow.hits == 1), timeout_s=10, what="the apply to read the CR")

    tombstone = rows.delete("web")
    await ActivityEnvironment().run(kube.activities.delete, delete_request(tombstone))
    rows.finish_delete(tombstone)
    assert rows.get("web") is None

    result = await asyncio.wait_for(zombie, timeout=30)
    assert await kube.live("web") is None, "a CR was created that no row backs"
    assert result.skipped_newer
    assert result.target == TARGET_KUBERNETES
    assert rows.applied("web", TARGET_KUBERNETES) == 0


async def test_apply_queued_past_a_compensated_delete_commits_no_file(
    rows: Rows, git_activities: GitActivities, git_remote: Path, tmp_path: Path, push_gate: PushGate
) -> None:
    row = rows.create("web")
    other = rows.create("other")
    # Another key's push holds the repository lock of this worker's clone...
    holder = asyncio.create_task(
        ActivityEnvironment().run(git_activities.apply, apply_request(other))
    )
    await eventually(lambda: _true(push_gate.entered()), timeout_s=20, what="the push to be held")
    # ...so the apply of the live version queues behind it.
    zombie = asyncio.create_task(
        ActivityEnvironment().run(git_activities.apply, apply_request(row))
    )
    queue = git_activities.place("").repo._queue()
    await eventually(lambda: _true(len(queue) == 1), timeout_s=10, what="the apply to queue")

    # Meanwhile the key is deleted and compensated by another worker (its own clone).
    tombstone = rows.delete("web")
    elsewhere = GitActivities(
        {TARGET_GIT: GitPlace(clone(git_remote, tmp_path / "elsewhere"))}, rows.engine
    )
    await ActivityEnvironment().run(elsewhere.remove, delete_request(tombstone))
    rows.finish_delete(tombstone)
    assert rows.get("web") is None

    push_gate.open()
    await asyncio.wait_for(holder, timeout=30)
    result = await asyncio.wait_for(zombie, timeout=30)
    files = _files(git_remote)
    assert git_path(rows.namespace, "web") not in files, "a file was committed that no row backs"
    assert git_path(rows.namespace, "other") in files
    assert result.skipped_newer
    assert result.target == TARGET_GIT
    assert rows.applied("web", TARGET_GIT) == 0


async def _true(value: bool) -> bool:
    return value


def _files(remote: Path) -> list[str]:
    return git("ls-tree", "-r", "--name-only", "main", cwd=remote).split()
