"""What the sync activities record per target is fenced on the version it is about: an error
of an attempt for an older version (a zombie) never overwrites a newer success, and a late
success of an older version never clears the error of a newer one."""

from __future__ import annotations

from sqlalchemy import Engine

from persistence import syncstatus
from persistence.tables import SyncStatusRow


def status(engine: Engine) -> SyncStatusRow:
    (row,) = syncstatus.list_status(engine, namespace="ns")
    return row


def applied(engine: Engine, version: int) -> None:
    syncstatus.record_applied(
        engine, namespace="ns", name="web", target="kubernetes", version=version, detail="rv"
    )


def attempt_error(engine: Engine, version: int, error: str, attempt: int = 1) -> None:
    syncstatus.record_attempt_error(
        engine,
        namespace="ns",
        name="web",
        target="kubernetes",
        version=version,
        attempt=attempt,
        error=error,
    )


def test_a_zombie_error_does_not_overwrite_a_newer_success(engine: Engine) -> None:
    applied(engine, 7)
    attempt_error(engine, 5, "timeout from an attempt for v5", attempt=3)
    attempt_error(engine, 7, "late error about v7 itself")
    row = status(engine)
    assert (row.applied_version, row.last_error, row.attempts) == (7, "", 0)


def test_an_error_of_a_newer_version_is_shown(engine: Engine) -> None:
    applied(engine, 7)
    attempt_error(engine, 8, "503 from the API server", attempt=2)
    row = status(engine)
    assert (row.applied_version, row.last_error, row.attempts) == (7, "503 from the API server", 2)


def test_a_late_older_success_keeps_the_newer_error(engine: Engine) -> None:
    attempt_error(engine, 9, "503 from the API server", attempt=4)
    applied(engine, 8)  # a zombie's success for an older version
    row = status(engine)
    assert (row.applied_version, row.last_error, row.attempts) == (8, "503 from the API server", 4)
    applied(engine, 9)
    row = status(engine)
    assert (row.applied_version, row.last_error, row.attempts) == (9, "", 0)


def test_an_older_error_does_not_replace_a_newer_one(engine: Engine) -> None:
    attempt_error(engine, 9, "error about v9", attempt=2)
    attempt_error(engine, 8, "error about v8", attempt=5)
    assert (status(engine).last_error, status(engine).attempts) == ("error about v9", 2)


def failure(engine: Engine, version: int, error: str) -> None:
    syncstatus.record_failure(
        engine, namespace="ns", name="web", target="kubernetes", version=version, error=error
    )


def test_a_late_older_success_keeps_the_newer_failure(engine: Engine) -> None:
    failure(engine, 9, "admission webhook denied v9")
    applied(engine, 8)  # a zombie's success for an older version
    row = status(engine)
    assert (row.applied_version, row.failed_version, row.last_error) == (
        8, 9, "admission webhook denied v9",
    )  # fmt: skip
    applied(engine, 9)  # a forced re-drive of v9 that succeeds
    row = status(engine)
    assert (row.applied_version, row.failed_version, row.last_error) == (9, 0, "")


def test_a_failure_of_an_older_version_is_cleared_by_a_newer_success(engine: Engine) -> None:
    failure(engine, 5, "admission webhook denied v5")
    applied(engine, 6)
    applied(engine, 4)  # a late report of an older success keeps v6
    row = status(engine)
    assert (row.applied_version, row.failed_version, row.last_error, row.detail) == (6, 0, "", "rv")
