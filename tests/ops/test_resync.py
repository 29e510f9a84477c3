"""``resync``: re-creates what a target lost (a CR deleted by hand, a Git file removed),
and ``--prune`` removes CRs and Git files no live row backs, only when told ``--yes``."""

from __future__ import annotations

from pathlib import Path

from gitops.repository import GitRepository
from k8s.applying import apply_appconfig, delete_appconfig
from k8s.manifests import render_appconfig, render_yaml
from tests.ops.helpers import Cli, create, synced, wait_synced
from tests.support.pipeline import Pipeline
from vocabulary import git_path

GHOST_VERSION = 999_999


def hand_repo(pipe: Pipeline, tmp_path: Path) -> GitRepository:
    """A clone of the GitOps remote of its own, as a person editing it by hand."""
    return GitRepository(
        remote=str(pipe.remote),
        workdir=tmp_path / "by-hand",
        author_name="someone",
        author_email="someone@localhost",
    )


async def test_resync_recreates_a_deleted_cr_and_a_missing_git_file(
    pipe: Pipeline, cli: Cli, tmp_path: Path
) -> None:
    web = await create(pipe, "web", replicas=2)
    api = await create(pipe, "api")
    await wait_synced(pipe, "web", web)
    await wait_synced(pipe, "api", api)
    assert await delete_appconfig(pipe.kube, namespace=pipe.ns, name="web", version=web)
    removed = await hand_repo(pipe, tmp_path).remove_file(
        path=git_path(pipe.ns, "api"), version=api, message="oops"
    )
    assert removed.changed
    assert not await synced(pipe, "web", web)
    assert not await synced(pipe, "api", api)

    result = await cli("resync", "-n", pipe.ns)

    assert result.code == 0
    assert "re-drove 2 key(s)" in result.out
    await wait_synced(pipe, "web", web)
    await wait_synced(pipe, "api", api)
    cr = await pipe.live_cr("web")
    assert cr is not None
    assert cr["spec"]["replicas"] == 2
    assert pipe.git_versions("api") == [api, api]  # re-committed at the same version


async def plant_orphans(pipe: Pipeline, tmp_path: Path) -> None:
    """A managed CR and a Git file for keys the database does not have."""
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
    await hand_repo(pipe, tmp_path).apply_file(
        path=git_path(pipe.ns, "stale"),
        content=render_yaml(stale),
        version=GHOST_VERSION,
        message="left behind",
    )


async def test_prune_shows_the_plan_and_deletes_only_with_yes(
    pipe: Pipeline, cli: Cli, tmp_path: Path
) -> None:
    web = await create(pipe, "web")
    await wait_synced(pipe, "web", web)
    await plant_orphans(pipe, tmp_path)
    expected = [
        {"kind": "cr", "key": f"{pipe.ns}/ghost", "version": GHOST_VERSION},
        {"kind": "git", "key": f"{pipe.ns}/stale", "version": GHOST_VERSION},
    ]

    dry = (await cli("resync", "--prune", "-n", pipe.ns, "-o", "json")).json()

    assert dry["wouldResync"] == 1
    assert [{k: o[k] for k in ("kind", "key", "version")} for o in dry["prunePlan"]] == expected
    assert "pruned" not in dry
    assert await pipe.live_cr("ghost") is not None
    assert pipe.git_file("stale") is not None
    text = await cli("resync", "--prune", "-n", pipe.ns)
    assert "prune plan: 2 orphan(s)" in text.out
    assert f"{pipe.ns}/ghost" in text.out
    assert "nothing changed" in text.out

    done = (await cli("resync", "--prune", "--yes", "-n", pipe.ns, "-o", "json")).json()

    assert done["resynced"] == 1
    assert len(done["pruned"]) == 2
    assert await pipe.live_cr("ghost") is None
    assert pipe.git_file("stale") is None
    assert await synced(pipe, "web", web)
    again = (await cli("resync", "--prune", "-n", pipe.ns, "-o", "json")).json()
    assert again["prunePlan"] == []
