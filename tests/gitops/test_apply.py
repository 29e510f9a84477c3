"""Applying files: cloning an empty remote, one commit per real change, a disposable clone."""

from __future__ import annotations

import asyncio
from pathlib import Path

from gitops.repository import GitRepository
from tests.gitops.conftest import (
    AUTHOR,
    PATH,
    OtherWriter,
    Remote,
    RepoFactory,
    git,
    render,
)

MESSAGE = "rendersync: apply default/web @ 1"


async def test_first_apply_on_empty_remote_pushes_exactly_the_file(
    repo: GitRepository, remote: Remote, isolated_git_config: Path
) -> None:
    result = await repo.apply_file(path=PATH, content=render("web", 1), version=1, message=MESSAGE)

    assert result.changed
    assert not result.skipped_newer
    assert result.commit == remote.tip()
    assert remote.files() == [PATH]
    assert remote.show(PATH) == render("web", 1)
    assert remote.subjects()[-1] == MESSAGE
    author = git("log", "-1", "--format=%an <%ae>|%cn <%ce>", "main", cwd=remote.path).strip()
    assert author == "{0} <{1}>|{0} <{1}>".format(*AUTHOR)
    assert not await asyncio.to_thread(isolated_git_config.exists)


async def test_ensure_clone_creates_the_branch_once(repo: GitRepository, remote: Remote) -> None:
    first = await repo.ensure_clone()
    again = await repo.ensure_clone()

    assert first == again == remote.tip()
    assert remote.subjects() == ["rendersync: initialize branch main"]
    assert remote.files() == []


async def test_same_content_twice_makes_one_commit(repo: GitRepository, remote: Remote) -> None:
    first = await repo.apply_file(path=PATH, content=render("web", 1), version=1, message=MESSAGE)
    second = await repo.apply_file(path=PATH, content=render("web", 1), version=1, message=MESSAGE)

    assert first.changed
    assert not second.changed
    assert not second.skipped_newer
    assert second.commit == first.commit == remote.tip()
    assert remote.subjects() == ["rendersync: initialize branch main", MESSAGE]


async def test_existing_history_is_kept(
    repo: GitRepository, remote: Remote, other: OtherWriter
) -> None:
    other.push("README.md", "# GitOps\n", "docs: readme")

    await repo.apply_file(path=PATH, content=render("web", 1), version=1, message=MESSAGE)

    assert remote.subjects() == ["docs: readme", MESSAGE]
    assert sorted(remote.files()) == ["README.md", PATH]


async def test_local_leftovers_are_discarded(
    repo: GitRepository, remote: Remote, other: OtherWriter
) -> None:
    await repo.ensure_clone()
    (repo.workdir / "stray.txt").write_text("not ours to publish\n", encoding="utf-8")
    (repo.workdir / ".git" / "index.lock").write_text("", encoding="utf-8")
    other.push("README.md", "# GitOps\n", "docs: readme")

    await repo.apply_file(path=PATH, content=render("web", 1), version=1, message=MESSAGE)

    assert sorted(remote.files()) == ["README.md", PATH]
    assert not (repo.workdir / "stray.txt").exists()


async def test_a_new_instance_reuses_the_clone(
    repo: GitRepository, remote: Remote, other: OtherWriter, make_repo: RepoFactory
) -> None:
    await repo.apply_file(path=PATH, content=render("web", 1), version=1, message=MESSAGE)
    other.push("README.md", "# GitOps\n", "docs: readme")

    tip = await make_repo().ensure_clone()

    assert tip == remote.tip()
    assert (repo.workdir / "README.md").exists()


async def test_another_branch(make_repo: RepoFactory, other: OtherWriter) -> None:
    other.push("README.md", "# GitOps\n", "docs: readme")
    repo = make_repo(branch="deploy")

    result = await repo.apply_file(path=PATH, content=render("web", 1), version=1, message=MESSAGE)

    deploy = Remote(other.remote.path, "deploy")
    assert deploy.tip() == result.commit
    assert deploy.files() == [PATH]
    assert other.remote.subjects() == ["docs: readme"]
