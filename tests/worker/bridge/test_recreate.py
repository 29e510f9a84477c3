"""End to end: an update, a delete and a recreate of one key that reach the bridge in one
poll batch still compensate the old incarnation (the CR is deleted and created anew, the Git
file is removed) before the recreate is applied."""

from __future__ import annotations

import asyncio
import subprocess

from persistence import outbox
from tests.support.builders import body
from tests.support.pipeline import Pipeline, watching
from tests.support.waiting import eventually

MERGE = {"content-type": "application/merge-patch+json"}


def removals(pipe: Pipeline, name: str) -> list[str]:
    """Commits of the Git remote that deleted the key's file."""
    path = f"appconfigs/{pipe.ns}/{name}.yaml"
    log = ["log", "--diff-filter=D", "--format=%H", "main", "--", path]
    done = subprocess.run(
        ["git", "--git-dir", str(pipe.remote), *log],
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.split()


async def test_update_delete_recreate_in_one_batch(pipe: Pipeline) -> None:
    created = await pipe.api.post(pipe.base, json=body("web"))
    assert created.status_code == 201, created.text
    v1 = int(created.json()["metadata"]["resourceVersion"])
    await eventually(lambda: pipe.converged("web", v1), what="the first incarnation applied")
    first = await pipe.live_cr("web")
    assert first is not None
    await pipe.stop("bridge")  # the next changes wait on the topic and arrive as one batch
    async with watching(pipe.kube, pipe.ns) as log:
        patched = await pipe.api.patch(
            f"{pipe.base}/web", json={"spec": {"replicas": 3}}, headers=MERGE
        )
        assert patched.status_code == 200, patched.text
        assert (await pipe.api.delete(f"{pipe.base}/web")).status_code == 200
        recreated = await pipe.api.post(pipe.base, json=body("web"))
        assert recreated.status_code == 201, recreated.text
        v4 = int(recreated.json()["metadata"]["resourceVersion"])

        async def published() -> bool:
            return not await asyncio.to_thread(outbox.fetch_unpublished, pipe.engine, limit=1)

        await eventually(published, what="the relay to publish the three changes")
        pipe.start_bridge()
        await eventually(lambda: pipe.converged("web", v4), what="the recreate applied")
    second = await pipe.live_cr("web")
    assert second is not None
    assert second["metadata"]["uid"] != first["metadata"]["uid"], "the CR was patched in place"
    assert log.deleted.get("web", 0) >= 1, "the watch saw no deletion of the old CR"
    assert removals(pipe, "web"), "Git shows no removal of the old incarnation"
