"""Orphan collection: the worker's periodic loop removes managed CRs and Git files that no
row backs (a zombie's late write, say), once they are older than the grace period; a live
key's objects are kept, and so are a tombstoned key's, which its workflow compensates."""

from __future__ import annotations

import time
from pathlib import Path

from gitops.repository import GitRepository
from k8s.applying import apply_appconfig
from k8s.manifests import render_appconfig, render_yaml
from tests.support.builders import body
from tests.support.pipeline import Pipeline
from tests.support.waiting import eventually
from vocabulary import git_path

GHOST_VERSION = 999_999
GRACE_S = 1.0


async def plant_orphans(pipe: Pipeline, tmp_path: Path) -> None:
    """A managed CR and a Git file (from a clone of its own) for keys with no row."""
    ghost = render_appconfig(
        namespace=pipe.ns,
        name="ghost",
        spec={"app": "ghost", "environment": "dev", "replicas": 1},
        labels={},
        annotations={},
        seq=GHOST_VERSION,
    )
    await apply_appconfig(pipe.kube, cr=ghost)
    stale = {**ghost, "metadata": {**ghost["metadata"], "name": "stale"}}
    by_hand = GitRepository(
        remote=str(pipe.remote),
        workdir=tmp_path / "by-hand",
        author_name="zombie",
        author_email="zombie@localhost",
    )
    await by_hand.apply_file(
        path=git_path(pipe.ns, "stale"),
        content=render_yaml(stale),
        version=GHOST_VERSION,
        message="a late write",
    )


async def test_orphans_are_collected_and_backed_objects_kept(
    pipe: Pipeline, tmp_path: Path
) -> None:
    wait = {"wait": "synced", "timeout": "30s"}
    web = await pipe.api.post(pipe.base, json=body("web"), params=wait)
    doomed = await pipe.api.post(pipe.base, json=body("doomed"), params=wait)
    assert web.status_code == doomed.status_code == 200
    await pipe.stop("relay")  # the delete below stays a tombstone: its workflow never hears
    deleted = await pipe.api.delete(f"{pipe.base}/doomed")
    assert deleted.status_code == 200, deleted.text
    await plant_orphans(pipe, tmp_path)
    planted = time.monotonic()

    pipe.start_orphan_collection(interval_s=0.2, grace_s=GRACE_S)

    async def collected() -> bool:
        return await pipe.live_cr("ghost") is None and pipe.git_file("stale") is None

    await eventually(collected, timeout_s=30, what="orphan CR and Git file removed")
    assert time.monotonic() - planted >= GRACE_S  # never before the grace period
    assert await pipe.live_cr("web") is not None
    assert pipe.git_file("web") is not None
    assert await pipe.live_cr("doomed") is not None  # left to its workflow
    assert pipe.git_file("doomed") is not None
