"""Version fence on rendersync.dev/version: newer replaces, older is skipped, newer incarnations
survive removal."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from gitops.repository import GitRepository, GitResult
from tests.gitops.conftest import PATH, OtherWriter, Remote, render


async def apply(repo: GitRepository, version: int, *, replicas: int = 1) -> GitResult:
    return await repo.apply_file(
        path=PATH,
        content=render("web", version, replicas=replicas),
        version=version,
        message=f"rendersync: apply default/web @ {version}",
    )


async def remove(repo: GitRepository, version: int, path: str = PATH) -> GitResult:
    return await repo.remove_file(
        path=path, version=version, message=f"rendersync: remove default/web @ {version}"
    )


async def test_newer_replaces_and_older_is_skipped(repo: GitRepository, remote: Remote) -> None:
    await apply(repo, 3)
    newer = await apply(repo, 5)
    older = await apply(repo, 4, replicas=9)

    assert newer.changed
    assert older.skipped_newer
    assert not older.changed
    assert older.commit == newer.commit == remote.tip()
    assert remote.show(PATH) == render("web", 5)
    assert remote.versions(PATH) == [3, 5]


async def test_same_version_with_other_content_repairs_the_file(
    repo: GitRepository, remote: Remote
) -> None:
    await apply(repo, 5)
    repaired = await apply(repo, 5, replicas=3)

    assert repaired.changed
    assert remote.show(PATH) == render("web", 5, replicas=3)


async def test_versions_held_never_decrease(repo: GitRepository, remote: Remote) -> None:
    for version in (2, 7, 3, 9, 1, 9, 8):
        await apply(repo, version)

    held = remote.versions(PATH)
    assert held == sorted(held)
    assert held == [2, 7, 9]


async def test_remove_deletes_then_is_a_no_op(repo: GitRepository, remote: Remote) -> None:
    await apply(repo, 1)
    removed = await remove(repo, 2)
    again = await remove(repo, 2)

    assert removed.changed
    assert PATH not in remote.files()
    assert remote.subjects()[-1] == "rendersync: remove default/web @ 2"
    assert not again.changed
    assert not again.skipped_newer
    assert again.commit == removed.commit == remote.tip()


async def test_remove_of_a_file_never_written_succeeds(repo: GitRepository, remote: Remote) -> None:
    result = await remove(repo, 4, "appconfigs/default/never.yaml")

    assert not result.changed
    assert not result.skipped_newer
    assert remote.subjects() == ["rendersync: initialize branch main"]


async def test_remove_with_older_version_keeps_newer_incarnation(
    repo: GitRepository, remote: Remote
) -> None:
    await apply(repo, 7)
    result = await remove(repo, 5)

    assert result.skipped_newer
    assert not result.changed
    assert remote.show(PATH) == render("web", 7)


async def test_recreate_after_remove(repo: GitRepository, remote: Remote) -> None:
    await apply(repo, 1)
    await remove(repo, 2)
    await apply(repo, 3)

    assert remote.show(PATH) == render("web", 3)
    assert remote.versions(PATH) == [1, 3]


async def test_hand_made_file_without_version_is_replaced(
    repo: GitRepository, remote: Remote, other: OtherWriter
) -> None:
    other.push(PATH, "kind: AppConfig\nmetadata: {name: web}\n", "hand edit")

    result = await apply(repo, 1)

    assert result.changed
    assert remote.show(PATH) == render("web", 1)


def row_at(seq: int | None) -> Callable[[], Awaitable[int | None]]:
    """A row check answering that the row is at ``seq`` (None: the version is not the row's)."""

    async def check() -> int | None:
        return seq

    return check


async def test_hand_edited_version_above_the_row_is_drift_and_overwritten(
    repo: GitRepository, remote: Remote, other: OtherWriter
) -> None:
    await repo.apply_file(
        path=PATH, content=render("web", 5), version=5, message="apply 5", row_check=row_at(5)
    )
    other.push(PATH, render("web", 999, replicas=7), "hand edit: version 999")

    # The row is at 6: a file claiming 999 was never the row's, so it is no newer incarnation.
    result = await repo.apply_file(
        path=PATH, content=render("web", 6), version=6, message="apply 6", row_check=row_at(6)
    )

    assert result.changed
    assert not result.skipped_newer
    assert remote.show(PATH) == render("web", 6)
    # The same version re-applied (a forced re-drive) also repairs it.
    other.push(PATH, render("web", 999, replicas=7), "hand edit again")
    again = await repo.apply_file(
        path=PATH, content=render("web", 6), version=6, message="reapply 6", row_check=row_at(6)
    )
    assert again.changed
    assert remote.show(PATH) == render("web", 6)


async def test_removal_removes_a_version_above_the_row(
    repo: GitRepository, remote: Remote, other: OtherWriter
) -> None:
    await apply(repo, 5)
    other.push(PATH, render("web", 999), "hand edit: version 999")

    # The delete's tombstone is at 6: 999 is no incarnation the row ever had.
    result = await repo.remove_file(path=PATH, version=6, message="remove 6", row_check=row_at(6))

    assert result.changed
    assert PATH not in remote.files()


async def test_newer_incarnation_within_the_row_is_kept(
    repo: GitRepository, remote: Remote
) -> None:
    await apply(repo, 8)

    # The row was recreated at 8 and that is live: the removal of 6 leaves it alone.
    result = await repo.remove_file(path=PATH, version=6, message="remove 6", row_check=row_at(8))

    assert result.skipped_newer
    assert remote.show(PATH) == render("web", 8)
