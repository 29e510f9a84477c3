"""Database round trips per apply: one read transaction (the row check right before the
target write) and one write transaction (provenance and status), counted on the engine."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, event
from temporalio.testing import ActivityEnvironment

from activities.git import GitActivities
from persistence import provenance
from tests.activities.conftest import Kube, Rows, apply_request
from vocabulary import TARGET_GIT, TARGET_KUBERNETES
from workflows.contracts import ApplyRequest

#: Statements of an applied version with a coalesced one: the row read; in a savepoint the
#: provenance note, the read of the versions no stage reported and their note; the status
#: row's upsert and the relay entry it drops; and the BEGINs and the savepoint around them.
MAX_STATEMENTS = 10


@contextmanager
def statements(engine: Engine) -> Iterator[list[str]]:
    """Every statement the engine sends while the block runs."""
    sent: list[str] = []

    def listener(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement.strip())

    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", listener)


def transactions(sent: list[str]) -> tuple[int, int]:
    """(read transactions, write transactions) among ``sent``."""
    writes = sum(s == "BEGIN IMMEDIATE" for s in sent)
    return sum(s == "BEGIN" for s in sent), writes


def coalescing(request: ApplyRequest) -> ApplyRequest:
    """``request`` as the workflow sends it after coalescing the version before it."""
    return dataclasses.replace(request, coalesced_after=request.image.seq - 2)


async def test_kubernetes_apply_reads_once_and_writes_once(kube: Kube, rows: Rows) -> None:
    rows.create("web")
    row = rows.update("web", replicas=2)
    rows.update("web", replicas=3)
    row = rows.update("web", replicas=4)
    with statements(rows.engine) as sent:
        result = await ActivityEnvironment().run(
            kube.activities.apply, coalescing(apply_request(row))
        )
    assert not result.skipped_newer
    assert transactions(sent) == (1, 1), sent
    assert len(sent) <= MAX_STATEMENTS, sent
    assert rows.applied("web", TARGET_KUBERNETES) == row.seq
    seen = provenance.of_key(rows.engine, namespace=rows.namespace, name="web")
    assert [r.outcome for r in seen[row.seq - 1]] == [provenance.COALESCED]


async def test_git_apply_reads_once_and_writes_once(
    rows: Rows, git_activities: GitActivities
) -> None:
    rows.create("web")
    rows.update("web", replicas=2)
    row = rows.update("web", replicas=3)
    with statements(rows.engine) as sent:
        result = await ActivityEnvironment().run(
            git_activities.apply, coalescing(apply_request(row))
        )
    assert not result.skipped_newer
    assert transactions(sent) == (1, 1), sent
    assert len(sent) <= MAX_STATEMENTS, sent
    assert rows.applied("web", TARGET_GIT) == row.seq


async def test_a_superseded_apply_reads_once_and_writes_only_its_note(
    kube: Kube, rows: Rows
) -> None:
    old = rows.create("web")
    rows.update("web", replicas=2)
    with statements(rows.engine) as sent:
        result = await ActivityEnvironment().run(kube.activities.apply, apply_request(old))
    assert result.skipped_newer
    assert await kube.live("web") is None
    assert transactions(sent) == (1, 1), sent
    assert rows.applied("web", TARGET_KUBERNETES) == 0
    seen = provenance.of_key(rows.engine, namespace=rows.namespace, name="web")
    assert [r.outcome for r in seen[old.seq]] == [provenance.SUPERSEDED]


async def test_a_failing_note_does_not_lose_the_applied_status(
    kube: Kube, rows: Rows, monkeypatch: pytest.MonkeyPatch
) -> None:
    row = rows.create("web")

    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("provenance table unavailable")

    monkeypatch.setattr(provenance, "upsert", broken)
    result = await ActivityEnvironment().run(kube.activities.apply, apply_request(row))
    assert not result.skipped_newer
    assert rows.applied("web", TARGET_KUBERNETES) == row.seq
    assert provenance.of_key(rows.engine, namespace=rows.namespace, name="web") == {}
