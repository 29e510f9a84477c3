"""Anti-entropy's choice of lagging keys (a failure excuses only the version that failed), and
the events it re-drives them with."""

from __future__ import annotations

import asyncio
import contextlib
import tracemalloc
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from sqlalchemy import Engine, update
from sqlmodel import col

from persistence import syncstatus
from persistence.db import write_session
from persistence.reading import lagging_rows
from persistence.tables import AppConfigRow, Revision
from persistence.writing import (
    Content,
    create_appconfig,
    delete_appconfig,
    update_appconfig,
    utcnow,
)
from tests.support.signalling import RecordingSignaller
from tests.support.waiting import eventually
from vocabulary.routing import Route
from worker.antientropy import run_anti_entropy
from workflows.contracts import SyncOptions

TARGETS = ("kubernetes", "git")
NS = "ns"


@pytest.fixture
def engine(sqlite_engine: Engine) -> Engine:
    return sqlite_engine


def content(replicas: int) -> Content:
    return Content(
        spec={"app": "web", "environment": "dev", "replicas": replicas}, labels={}, annotations={}
    )


def write(engine: Engine, name: str, replicas: int) -> int:
    if replicas == 1:
        row = create_appconfig(engine, namespace=NS, name=name, content=content(1), actor="t")
    else:
        row = update_appconfig(
            engine,
            namespace=NS,
            name=name,
            content=content(replicas),
            expected_version=None,
            actor="t",
        )
    return row.seq


def applied(engine: Engine, name: str, version: int, *targets: str) -> None:
    for target in targets:
        syncstatus.record_applied(
            engine, namespace=NS, name=name, target=target, version=version, detail=""
        )


def failed(engine: Engine, name: str, version: int, target: str) -> None:
    syncstatus.record_failure(
        engine, namespace=NS, name=name, target=target, version=version, error="boom"
    )


def lagging(engine: Engine, options: SyncOptions | None = None) -> set[str]:
    routing = options or SyncOptions(targets=TARGETS)
    found = lagging_rows(engine, targets=lambda row: routing.route(row) or (), grace_s=0.0)
    return {row.name for row in found}


def test_a_key_whose_row_moved_past_its_failed_version_is_lagging(engine: Engine) -> None:
    v1 = write(engine, "web", 1)
    applied(engine, "web", v1, *TARGETS)
    v2 = write(engine, "web", 2)
    applied(engine, "web", v2, "kubernetes")
    failed(engine, "web", v2, "git")  # Git failed at v2 ...
    write(engine, "web", 3)  # ... and v3's message was lost

    assert lagging(engine) == {"web"}


def test_a_failure_at_the_rows_version_is_left_to_replay(engine: Engine) -> None:
    v1 = write(engine, "web", 1)
    applied(engine, "web", v1, "kubernetes")
    failed(engine, "web", v1, "git")

    assert lagging(engine) == set()


def test_a_cleared_failure_is_lagging_again(engine: Engine) -> None:
    v1 = write(engine, "web", 1)
    applied(engine, "web", v1, *TARGETS)
    v2 = write(engine, "web", 2)
    failed(engine, "web", v2, "git")
    applied(engine, "web", v2, "git")  # the replay succeeded on Git; Kubernetes still lags

    assert lagging(engine) == {"web"}


def test_converged_keys_are_not_lagging(engine: Engine) -> None:
    v1 = write(engine, "web", 1)
    applied(engine, "web", v1, *TARGETS)

    assert lagging(engine) == set()


def test_a_tombstone_past_an_older_failure_is_re_driven(engine: Engine) -> None:
    v1 = write(engine, "web", 1)
    applied(engine, "web", v1, "kubernetes")
    failed(engine, "web", v1, "git")
    delete_appconfig(engine, namespace=NS, name="web", expected_version=None, actor="t")

    assert lagging(engine) == {"web"}


def test_a_key_is_lagging_only_behind_the_targets_it_routes_to(engine: Engine) -> None:
    routed = SyncOptions(
        targets=("dev", "prod"),
        target_kinds={"dev": "kubernetes", "prod": "kubernetes"},
        routes=(Route(("dev",), environment="dev"), Route(("prod",), environment="prod")),
    )
    v1 = write(engine, "web", 1)  # environment dev
    assert lagging(engine, routed) == {"web"}

    applied(engine, "web", v1, "dev")

    assert lagging(engine, routed) == set()  # prod never holds it, and need not


GRACE_S = 60.0


def written_ago(engine: Engine, name: str, seconds: float) -> None:
    """Date the key's row and revisions ``seconds`` back: committed then."""
    when = utcnow() - timedelta(seconds=seconds)
    with write_session(engine) as session:
        key = (col(AppConfigRow.namespace) == NS, col(AppConfigRow.name) == name)
        session.execute(update(AppConfigRow).where(*key).values(updated_at=when))
        revisions = (col(Revision.namespace) == NS, col(Revision.name) == name)
        session.execute(update(Revision).where(*revisions).values(created_at=when))


def lagging_after_grace(engine: Engine, advancing: dict[str, int] | None = None) -> set[str]:
    routing = SyncOptions(targets=TARGETS)
    found = lagging_rows(
        engine,
        targets=lambda row: routing.route(row) or (),
        grace_s=GRACE_S,
        advancing=advancing,
    )
    return {row.name for row in found}


def backlog(engine: Engine) -> dict[str, int]:
    """A burst committed ten minutes ago that the targets are working through: they just
    applied ``first`` and hold nothing of ``queued-*`` yet. Returns the targets as advancing
    (their newest applied version moved since the previous pass)."""
    first = write(engine, "first", 1)
    applied(engine, "first", first, *TARGETS)
    write(engine, "queued-1", 1)
    write(engine, "queued-2", 1)
    for name in ("first", "queued-1", "queued-2"):
        written_ago(engine, name, 600)
    return dict.fromkeys(TARGETS, first)


def test_rows_queued_behind_an_advancing_target_are_left_to_the_pipeline(
    db_engine: Engine,
) -> None:
    """Their events are on their way; a catch-up event each would double the backlog's
    signals (and workflow tasks) for nothing."""
    advancing = backlog(db_engine)

    assert lagging_after_grace(db_engine, advancing) == set()


def test_a_row_an_advancing_target_got_past_is_lagging(db_engine: Engine) -> None:
    """Committed over the grace period before a change the targets applied: its event was
    lost, or its key is stuck, not queued."""
    advancing = backlog(db_engine)
    write(db_engine, "straggler", 1)
    written_ago(db_engine, "straggler", 600 + GRACE_S + 1)

    assert lagging_after_grace(db_engine, advancing) == {"straggler"}


def test_rows_behind_a_target_that_applied_nothing_new_are_lagging(db_engine: Engine) -> None:
    """A target whose newest version stood still since the previous pass is not working
    through a backlog: whatever it does not hold by now is not coming."""
    backlog(db_engine)

    assert lagging_after_grace(db_engine) == {"queued-1", "queued-2"}


def test_a_tombstone_queued_behind_an_advancing_target_is_left_to_the_pipeline(
    db_engine: Engine,
) -> None:
    advancing = backlog(db_engine)
    delete_appconfig(db_engine, namespace=NS, name="queued-1", expected_version=None, actor="t")
    written_ago(db_engine, "queued-1", 600)
    assert lagging_after_grace(db_engine, advancing) == set()

    assert lagging_after_grace(db_engine) == {"queued-1", "queued-2"}


@contextlib.asynccontextmanager
async def passes(engine: Engine, *, grace_s: float) -> AsyncIterator[RecordingSignaller]:
    """Anti-entropy passes every 10 ms until the block exits; what they re-drove is recorded."""
    stop = asyncio.Event()
    recording = RecordingSignaller()
    loop = asyncio.create_task(
        run_anti_entropy(
            engine=engine,
            signaller=recording,
            options=SyncOptions(targets=TARGETS),
            interval_s=0.01,
            grace_s=grace_s,
            stop=stop,
        )
    )
    try:
        yield recording
    finally:
        stop.set()
        await asyncio.wait_for(loop, timeout=30)


async def test_re_applying_what_a_target_holds_does_not_hold_back_a_lost_change(
    engine: Engine,
) -> None:
    """Drift repair, a replay or a key retrying keeps writing statuses of versions a target
    already holds; only a newer applied version is progress. Passes run while ``first`` is
    re-applied at its version over and over: the queued keys are re-driven all the same."""
    backlog(engine)
    first = syncstatus.applied_versions(engine, namespace=NS, name="first")
    async with passes(engine, grace_s=GRACE_S) as recording:

        async def re_driven() -> bool:
            for (_, _, target), version in first.items():
                await asyncio.to_thread(applied, engine, "first", version, target)
            queued = {f"{NS}/queued-1", f"{NS}/queued-2"}
            return {event.key for event in recording.events} >= queued

        await eventually(re_driven, timeout_s=30, what="the queued keys to be re-driven")


def test_a_pass_over_converged_keys_holds_none_of_their_rows(engine: Engine) -> None:
    """Every pass reads every key; over 10,000 keys, holding each row (spec and all) at once
    would be the largest allocation the worker makes while converged."""
    count, spec_bytes = 1000, 8 * 1024
    spec = {"app": "web", "environment": "dev", "replicas": 1, "blob": "x" * spec_bytes}
    for i in range(count):
        name = f"web-{i}"
        content = Content(spec=spec, labels={}, annotations={})
        row = create_appconfig(engine, namespace=NS, name=name, content=content, actor="t")
        applied(engine, name, row.seq, *TARGETS)
    tracemalloc.start()
    try:
        assert lagging(engine) == set()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Holding every row at once takes more than their specs alone (8 MiB); a chunk of rows
    # (``persistence.reading._SCAN_CHUNK``, a fifth of them) takes about half that.
    assert peak < count * spec_bytes, f"a pass peaked at {peak} bytes"


async def test_a_pass_re_drives_with_catch_up_events(engine: Engine) -> None:
    """A key that still works on the row's version drops a catch-up event (see
    ``tests/workflows/test_force.py``); a plain forced event would apply that version twice."""
    v1 = write(engine, "web", 1)
    async with passes(engine, grace_s=0.0) as recording:

        async def delivered() -> bool:
            return bool(recording.events)

        await eventually(delivered, timeout_s=30, what="a pass to re-drive the lagging key")

    event = recording.events[0]
    assert (event.key, event.seq) == (f"{NS}/web", v1)
    assert event.force
    assert event.catch_up
