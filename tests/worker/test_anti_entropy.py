"""Anti-entropy's choice of lagging keys (a failure excuses only the version that failed), and
the events it re-drives them with."""

from __future__ import annotations

import asyncio
import tracemalloc

import pytest
from sqlalchemy import Engine

from persistence import syncstatus
from persistence.reading import lagging_rows
from persistence.writing import (
    Content,
    create_appconfig,
    delete_appconfig,
    update_appconfig,
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
    stop = asyncio.Event()
    recording = RecordingSignaller()
    passes = asyncio.create_task(
        run_anti_entropy(
            engine=engine,
            signaller=recording,
            options=SyncOptions(targets=TARGETS),
            interval_s=0.01,
            grace_s=0.0,
            stop=stop,
        )
    )

    async def delivered() -> bool:
        return bool(recording.events)

    try:
        await eventually(delivered, timeout_s=30, what="a pass to re-drive the lagging key")
    finally:
        stop.set()
        await asyncio.wait_for(passes, timeout=30)

    event = recording.events[0]
    assert (event.key, event.seq) == (f"{NS}/web", v1)
    assert event.force
    assert event.catch_up
