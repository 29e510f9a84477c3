"""Git layouts: path templates, the files of a target, and Kustomize overlays kept buildable."""

from __future__ import annotations

from collections.abc import Awaitable
from pathlib import Path

import pytest
import yaml

from gitops.layout import DEFAULT_PATH, GitLayout
from gitops.repository import GitRepository, GitResult
from tests.gitops.conftest import OtherWriter, Remote, git, render
from tests.support.kustomizing import kustomize

OVERLAY = GitLayout("clusters/prod/appconfigs/{namespace}/{name}.yaml", "clusters/prod")
BY_ENVIRONMENT = GitLayout("clusters/{environment}/appconfigs/{namespace}/{name}.yaml")


@pytest.mark.parametrize(
    ("layout", "file"),
    [
        (GitLayout(), "appconfigs/team-a/web.yaml"),
        (OVERLAY, "clusters/prod/appconfigs/team-a/web.yaml"),
        (BY_ENVIRONMENT, "clusters/staging/appconfigs/team-a/web.yaml"),
        (GitLayout("{environment}/{namespace}-{name}.yaml"), "staging/team-a-web.yaml"),
    ],
)
def test_a_layout_names_a_keys_file_and_reads_it_back(layout: GitLayout, file: str) -> None:
    assert layout.file("team-a", "web", "staging") == file
    environment = "staging" if layout.by_environment else ""
    assert layout.key_of(file) == ("team-a", "web", environment)


@pytest.mark.parametrize(
    "other",
    [
        "clusters/prod/kustomization.yaml",
        "clusters/dev/appconfigs/team-a/web.yaml",
        "clusters/prod/appconfigs/team-a/nested/web.yaml",
        "clusters/prod/appconfigs/team-a/web.yml",
    ],
)
def test_a_file_outside_the_layout_is_not_a_keys(other: str) -> None:
    assert OVERLAY.key_of(other) is None


@pytest.mark.parametrize(
    ("layout", "problem"),
    [
        (GitLayout("{namespace}/{nam}.yaml"), "unknown placeholder {nam}"),
        (GitLayout("{name}.yaml"), "must use both {namespace} and {name}"),
        (GitLayout("{namespace}/{name}.json"), "must be relative and end in .yaml"),
        (GitLayout("../{namespace}/{name}.yaml"), "must be relative"),
        (GitLayout("{namespace/{name}.yaml"), "is not a template"),
        (GitLayout("apps/{namespace}/{name}.yaml", "clusters/prod"), "not under its kustomization"),
    ],
)
def test_a_layout_that_cannot_work_says_why(layout: GitLayout, problem: str) -> None:
    assert any(problem in p for p in layout.problems()), layout.problems()


def test_the_default_layout_is_todays() -> None:
    assert DEFAULT_PATH == "appconfigs/{namespace}/{name}.yaml"
    assert GitLayout().problems() == []
    assert not GitLayout().by_environment
    assert BY_ENVIRONMENT.by_environment


async def test_a_kustomization_lists_the_targets_files_in_the_same_commit(
    repo: GitRepository, remote: Remote, tmp_path: Path
) -> None:
    for namespace, name in [("team-a", "web"), ("team-b", "api"), ("team-a", "db")]:
        await repo.apply_file(
            path=OVERLAY.file(namespace, name),
            content=render(name, 1, namespace=namespace),
            version=1,
            message=f"apply {namespace}/{name}",
            layout=OVERLAY,
        )
    await repo.remove_file(
        path=OVERLAY.file("team-a", "db"), version=1, message="remove team-a/db", layout=OVERLAY
    )

    index = yaml.safe_load(remote.show("clusters/prod/kustomization.yaml"))
    assert index["resources"] == ["appconfigs/team-a/web.yaml", "appconfigs/team-b/api.yaml"]
    changed = git("show", "--name-only", "--format=", "main~1", cwd=remote.path).split()
    assert "clusters/prod/kustomization.yaml" in changed  # with the file it lists
    checkout = tmp_path / "checkout"
    git("clone", "--quiet", str(remote.path), str(checkout), cwd=tmp_path)
    assert kustomize(checkout, "clusters/prod") == ["team-a/web", "team-b/api"]


async def test_a_kustomization_keeps_the_resources_it_does_not_own(
    repo: GitRepository, remote: Remote, tmp_path: Path
) -> None:
    await repo.ensure_clone()
    base = repo.workdir / "clusters/prod"
    base.mkdir(parents=True)
    (base / "namespace.yaml").write_text(
        yaml.safe_dump({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}})
    )
    (base / "kustomization.yaml").write_text(
        yaml.safe_dump({"resources": ["namespace.yaml"], "commonLabels": {"tier": "prod"}})
    )
    git("add", ".", cwd=repo.workdir)
    git(
        "-c",
        "user.name=ops",
        "-c",
        "user.email=ops@x",
        "commit",
        "-qm",
        "by hand",
        cwd=repo.workdir,
    )
    git("push", "-q", "origin", "HEAD:main", cwd=repo.workdir)

    await repo.apply_file(
        path=OVERLAY.file("team-a", "web"),
        content=render("web", 1, namespace="team-a"),
        version=1,
        message="apply team-a/web",
        layout=OVERLAY,
    )

    index = yaml.safe_load(remote.show("clusters/prod/kustomization.yaml"))
    assert index["resources"] == ["namespace.yaml", "appconfigs/team-a/web.yaml"]
    assert index["commonLabels"] == {"tier": "prod"}


async def test_an_unchanged_write_repairs_a_hand_edited_kustomization(
    repo: GitRepository, remote: Remote, other: OtherWriter
) -> None:
    def apply(name: str) -> Awaitable[GitResult]:
        return repo.apply_file(
            path=OVERLAY.file("team-a", name), content=render(name, 1, namespace="team-a"),
            version=1, message=f"apply team-a/{name}", layout=OVERLAY,
        )  # fmt: skip

    await apply("web")
    await apply("api")
    index = "clusters/prod/kustomization.yaml"
    edited = yaml.safe_load(remote.show(index))
    edited["resources"] = ["appconfigs/team-a/web.yaml"]  # api's entry dropped by hand
    other.push(index, yaml.safe_dump(edited, sort_keys=False), "ops: edit kustomization")

    result = await apply("api")  # its own file is unchanged

    assert result.changed
    listed = yaml.safe_load(remote.show(index))["resources"]
    assert listed == ["appconfigs/team-a/api.yaml", "appconfigs/team-a/web.yaml"]
    assert remote.subjects()[-1] == "apply team-a/api"
    assert not (await apply("api")).changed  # nothing left to repair
