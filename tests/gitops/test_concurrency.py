"""Concurrent writers: a rejected push is rebased or re-fenced, and one process serialises its
writers on a clone."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest

from gitops.repository import GitRepository, GitResult
from tests.gitops.conftest import (
    PATH,
    OtherWriter,
    Remote,
    RepoFactory,
    install_hook,
    render,
)
from vocabulary import RowCheck

OURS = "rendersync: apply default/web @ 5"


def race_next_push(repo: GitRepository, other: OtherWriter, path: str, content: str) -> Path:
    """Make the other writer push between our fetch and our push: a pre-push hook in our clone
    runs after git has read the remote's refs, so our first push is rejected."""
    marker = repo.workdir.parent / "raced"
    body = other.script(path, content, "other: concurrent change")
    install_hook(repo.workdir, "pre-push", body, once=marker)
    return marker


async def test_concurrent_push_of_another_file_is_rebased(
    repo: GitRepository, remote: Remote, other: OtherWriter, caplog: pytest.LogCaptureFixture
) -> None:
    other.push("README.md", "# GitOps\n", "docs: readme")
    await repo.ensure_clone()
    raced = race_next_push(repo, other, "appconfigs/default/api.yaml", render("api", 4))

    with caplog.at_level(logging.INFO, logger="gitops.repository"):
        result = await repo.apply_file(path=PATH, content=render("web", 5), version=5, message=OURS)

    assert raced.exists()
    logged = [record.getMessage() for record in caplog.records]
    assert any("rejected" in line for line in logged)
    assert any("rebased" in line for line in logged)
    assert result.changed
    assert result.commit == remote.tip()
    assert remote.subjects() == ["docs: readme", "other: concurrent change", OURS]
    assert sorted(remote.files()) == ["README.md", "appconfigs/default/api.yaml", PATH]


@pytest.mark.parametrize(("theirs", "winner"), [(9, 9), (3, 5)])
async def test_conflicting_change_to_our_file_is_settled_by_version(
    repo: GitRepository,
    remote: Remote,
    other: OtherWriter,
    caplog: pytest.LogCaptureFixture,
    theirs: int,
    winner: int,
) -> None:
    await repo.apply_file(path=PATH, content=render("web", 1), version=1, message="v1")
    raced = race_next_push(repo, other, PATH, render("web", theirs, replicas=2))

    with caplog.at_level(logging.INFO, logger="gitops.repository"):
        result = await repo.apply_file(path=PATH, content=render("web", 5), version=5, message=OURS)

    assert raced.exists()
    assert any("fence re-checked" in record.getMessage() for record in caplog.records)
    assert result.commit == remote.tip()
    assert result.skipped_newer is (winner == theirs)
    assert result.changed is (winner == 5)
    expected = render("web", 9, replicas=2) if winner == theirs else render("web", 5)
    assert remote.show(PATH) == expected
    held = remote.versions(PATH)
    assert held == sorted(held)
    assert held[-1] == winner


async def test_many_tasks_in_one_process_all_land(
    make_repo: RepoFactory, remote: Remote, caplog: pytest.LogCaptureFixture
) -> None:
    # Two instances on one workdir: the lock is per clone, not per instance.
    repos = [make_repo(), make_repo()]
    names = [f"app{i}" for i in range(12)]

    with caplog.at_level(logging.INFO, logger="gitops.repository"):
        results = await asyncio.gather(
            *(
                repos[i % 2].apply_file(
                    path=f"appconfigs/default/{name}.yaml",
                    content=render(name, i + 1),
                    version=i + 1,
                    message=f"rendersync: apply default/{name} @ {i + 1}",
                )
                for i, name in enumerate(names)
            )
        )

    assert all(result.changed for result in results)
    assert sorted(remote.files()) == sorted(f"appconfigs/default/{name}.yaml" for name in names)
    # Writers that waited for the clone were written as one batch: fewer commits than
    # changes, and the messages still name every key and version.
    commits = {result.commit for result in results}
    assert len(commits) < len(names)
    assert len(remote.subjects()) == len(commits) + 1
    messages = remote.messages()
    assert all(f"apply default/{name} @ {i + 1}" in messages for i, name in enumerate(names))
    assert not any("rejected" in record.getMessage() for record in caplog.records)


async def test_many_tasks_on_one_key_end_at_the_newest(repo: GitRepository, remote: Remote) -> None:
    versions = [4, 1, 8, 2, 8, 6, 3, 7, 5]

    await asyncio.gather(
        *(
            repo.apply_file(path=PATH, content=render("web", v), version=v, message=f"@ {v}")
            for v in versions
        )
    )

    held = remote.versions(PATH)
    assert held == sorted(held)
    assert held[-1] == 8
    assert remote.show(PATH) == render("web", 8)


async def test_two_clones_racing_all_land(
    make_repo: RepoFactory, remote: Remote, tmp_path: Path
) -> None:
    # Two clones are two worker processes: no shared lock, only push rejections and rebases.
    clones = [make_repo(workdir=tmp_path / f"clone{i}", push_attempts=50) for i in range(2)]
    await clones[0].ensure_clone()
    names = [f"app{i}" for i in range(10)]

    await asyncio.gather(
        *(
            clones[i % 2].apply_file(
                path=f"appconfigs/default/{name}.yaml",
                content=render(name, 1),
                version=1,
                message=f"rendersync: apply default/{name} @ 1",
            )
            for i, name in enumerate(names)
        )
    )

    assert sorted(remote.files()) == sorted(f"appconfigs/default/{name}.yaml" for name in names)
    messages = remote.messages()
    assert all(f"apply default/{name} @ 1" in messages for name in names)
    assert len(remote.subjects()) <= len(names) + 1  # batches within each clone


async def test_a_failed_batch_leaves_nothing_for_the_next_one_to_commit(
    repo: GitRepository, remote: Remote
) -> None:
    """A batch that fails after staging some of its changes must not leave them in the clone:
    the next batch would commit them under its own message, before their writers retry."""
    await repo.ensure_clone()
    entered, gate = asyncio.Event(), asyncio.Event()

    async def holding() -> int | None:
        entered.set()
        await gate.wait()
        return 1

    async def unavailable() -> int | None:
        raise RuntimeError("database unavailable")

    def apply(name: str, check: RowCheck | None = None) -> asyncio.Task[GitResult]:
        return asyncio.create_task(
            repo.apply_file(
                path=f"appconfigs/default/{name}.yaml", content=render(name, 1), version=1,
                message=f"rendersync: apply default/{name} @ 1", row_check=check,
            )
        )  # fmt: skip

    holder = apply("web", holding)
    await entered.wait()  # the holder has the clone; the next two queue as one batch
    staged, failing = apply("api"), apply("cart", unavailable)
    gate.set()
    await holder
    with pytest.raises(RuntimeError, match="database unavailable"):
        await staged
    with pytest.raises(RuntimeError, match="database unavailable"):
        await failing

    await repo.apply_file(
        path="appconfigs/default/shop.yaml", content=render("shop", 1), version=1,
        message="rendersync: apply default/shop @ 1",
    )  # fmt: skip
    assert "appconfigs/default/api.yaml" not in remote.files()
    assert remote.subjects()[-1] == "rendersync: apply default/shop @ 1"
