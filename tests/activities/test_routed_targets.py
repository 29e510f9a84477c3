"""Named targets at the activities: Git targets sharing one repository, a key's file placed by
its environment, the status a key leaves behind, and orphans of a finished move."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from sqlalchemy import Engine
from temporalio.testing import ActivityEnvironment

from activities.git import GitActivities, GitPlace
from gitops.layout import GitLayout
from persistence import writing
from persistence.tables import AppConfigRow
from tests.activities.conftest import SPEC, Rows, apply_request, clone
from tests.gitops.conftest import git
from vocabulary.routing import Route
from worker.orphans import prune, prune_plan
from workflows.contracts import DeleteRequest, SyncOptions


def overlay(environment: str) -> GitLayout:
    return GitLayout(
        f"clusters/{environment}/appconfigs/{{namespace}}/{{name}}.yaml", f"clusters/{environment}"
    )


OPTIONS = SyncOptions(
    targets=("gitops-dev", "gitops-prod"),
    target_kinds={"gitops-dev": "git", "gitops-prod": "git"},
    routes=(
        Route(("gitops-dev",), environment="dev"),
        Route(("gitops-prod",), environment="prod"),
    ),
)


def move(rows: Rows, name: str, environment: str) -> AppConfigRow:
    content = writing.Content(spec={**SPEC, "environment": environment}, labels={}, annotations={})
    return writing.update_appconfig(
        rows.engine, namespace=rows.namespace, name=name, content=content,
        expected_version=None, actor="test",
    )  # fmt: skip


def files(remote: Path) -> list[str]:
    return git("ls-tree", "-r", "--name-only", "main", cwd=remote).split()


def overlays(git_remote: Path, tmp_path: Path, engine: Engine) -> GitActivities:
    """Two targets, one overlay each, in one repository (one writer)."""
    repo = clone(git_remote, tmp_path / "work")
    places = {
        "gitops-dev": GitPlace(repo, overlay("dev")),
        "gitops-prod": GitPlace(repo, overlay("prod")),
    }
    return GitActivities(places, engine)


async def test_targets_of_one_repository_write_their_own_overlays(
    rows: Rows, git_remote: Path, tmp_path: Path, engine: Engine
) -> None:
    activities = overlays(git_remote, tmp_path, engine)
    row = rows.create("web")
    env = ActivityEnvironment()

    await env.run(activities.apply, replace(apply_request(row), target="gitops-dev"))
    moved = move(rows, "web", "prod")
    await env.run(activities.apply, replace(apply_request(moved), target="gitops-prod"))

    ns = rows.namespace
    assert files(git_remote) == [
        "clusters/dev/appconfigs/" + f"{ns}/web.yaml",
        "clusters/dev/kustomization.yaml",
        "clusters/prod/appconfigs/" + f"{ns}/web.yaml",
        "clusters/prod/kustomization.yaml",
    ]
    assert rows.applied("web", "gitops-dev") == row.seq
    assert rows.applied("web", "gitops-prod") == moved.seq
    assert activities.place("gitops-dev").repo is activities.place("gitops-prod").repo

    leave = DeleteRequest(rows.namespace, "web", moved.seq, target="gitops-dev", leave=True)
    await env.run(activities.remove, leave)

    assert files(git_remote) == [
        "clusters/dev/kustomization.yaml",
        "clusters/prod/appconfigs/" + f"{ns}/web.yaml",
        "clusters/prod/kustomization.yaml",
    ]
    assert rows.applied("web", "gitops-dev") == 0  # the key's status there left with it
    assert rows.applied("web", "gitops-prod") == moved.seq


async def test_a_target_placing_keys_by_environment_removes_the_place_it_is_told(
    rows: Rows, git_remote: Path, tmp_path: Path, engine: Engine
) -> None:
    layout = GitLayout("clusters/{environment}/{namespace}/{name}.yaml")
    activities = GitActivities(
        {"gitops": GitPlace(clone(git_remote, tmp_path / "w"), layout)}, engine
    )
    row = rows.create("web")
    env = ActivityEnvironment()
    await env.run(activities.apply, replace(apply_request(row), target="gitops"))
    moved = move(rows, "web", "prod")
    await env.run(activities.apply, replace(apply_request(moved), target="gitops"))
    ns = rows.namespace
    assert files(git_remote) == [f"clusters/dev/{ns}/web.yaml", f"clusters/prod/{ns}/web.yaml"]

    old_place = DeleteRequest(ns, "web", moved.seq, target="gitops", environment="dev")
    await env.run(activities.remove, old_place)
    assert files(git_remote) == [f"clusters/prod/{ns}/web.yaml"]

    tombstone = rows.delete("web")
    await env.run(activities.remove, DeleteRequest(ns, "web", tombstone.seq, target="gitops"))
    assert files(git_remote) == []  # without an environment: the row's


async def test_a_copy_left_behind_by_a_move_is_an_orphan_once_the_move_is_done(
    rows: Rows, git_remote: Path, tmp_path: Path, engine: Engine
) -> None:
    activities = overlays(git_remote, tmp_path, engine)
    env = ActivityEnvironment()
    row = rows.create("web")
    await env.run(activities.apply, replace(apply_request(row), target="gitops-dev"))
    moved = move(rows, "web", "prod")
    places = activities.places

    async def plan() -> list[tuple[str, str]]:
        found = await prune_plan(engine=engine, clusters={}, places=places, options=OPTIONS)
        return [(o.target, o.path) for o in found]

    assert await plan() == []  # the move is not done: the dev copy is the last good one

    await env.run(activities.apply, replace(apply_request(moved), target="gitops-prod"))
    dev_copy = f"clusters/dev/appconfigs/{rows.namespace}/web.yaml"
    assert await plan() == [("gitops-dev", dev_copy)]

    orphans = await prune_plan(engine=engine, clusters={}, places=places, options=OPTIONS)
    removed = await prune(orphans, engine=engine, clusters={}, places=places, options=OPTIONS)
    assert [o.path for o in removed] == [dev_copy]
    assert dev_copy not in files(git_remote)
    assert f"clusters/prod/appconfigs/{rows.namespace}/web.yaml" in files(git_remote)
    assert await plan() == []
