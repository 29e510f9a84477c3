"""Consistency checks across appconfigs, revisions and outbox, shared by API tests."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine, select
from sqlmodel import Session, col

from persistence.envelopes import row_image
from persistence.tables import AppConfigRow, OutboxEvent, Revision


def assert_tables_consistent(engine: Engine) -> None:
    """Every committed write left exactly one revision and one outbox event with its seq;
    seq is strictly increasing in commit order; the newest event of each key carries the
    row as it is now."""
    with Session(engine) as session:
        rows = list(session.execute(select(AppConfigRow)).scalars())
        revisions = list(session.execute(select(Revision).order_by(col(Revision.id))).scalars())
        outbox = list(session.execute(select(OutboxEvent).order_by(col(OutboxEvent.seq))).scalars())
    seqs_in_commit_order = [r.seq for r in revisions]
    assert seqs_in_commit_order == sorted(set(seqs_in_commit_order)), "seq not increasing"
    assert [e.seq for e in outbox] == seqs_in_commit_order, "outbox and revisions disagree"
    newest: dict[str, dict[str, Any]] = {}
    for event in outbox:
        newest[event.key] = json.loads(event.envelope)
    assert set(newest) == {f"{r.namespace}/{r.name}" for r in rows}
    for row in rows:
        change = newest[f"{row.namespace}/{row.name}"]
        image = change["before"] if change["op"] == "d" else change["after"]
        assert image == row_image(row), f"outbox image of {row.name} differs from the row"
        assert change["op"] == ("d" if row.deleted else change["op"])
        last_revision = max(
            (r for r in revisions if r.name == row.name and r.namespace == row.namespace),
            key=lambda r: r.seq,
        )
        assert last_revision.seq == row.seq
        assert (last_revision.op == "delete") == row.deleted
