"""Reads of one key's revisions go through an index over the key, not the whole namespace:
each apply of a coalescing key reads them, so a scan would cost more with every key added.

The statements are the ones the code sends (captured on the engine), and SQLite's own query
plan for them on the migrated schema says which index it searches."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, event, text

from persistence import provenance, reading, writing
from persistence.db import write_session

pytestmark = pytest.mark.timeout(60)


def revision_reads(engine: Engine, call: Any) -> list[tuple[str, Any]]:
    """The SELECTs on ``revisions`` that ``call`` sends, with their parameters."""
    sent: list[tuple[str, Any]] = []

    def listener(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        if statement.lstrip().startswith("SELECT") and "FROM revisions" in statement:
            sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", listener)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    return sent


def plan(engine: Engine, statement: str, parameters: Any) -> str:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
    return "\n".join(str(row[-1]) for row in rows)


def test_a_keys_revisions_are_searched_by_the_key(sqlite_engine: Engine) -> None:
    engine = sqlite_engine
    content = writing.Content(spec={"image": "nginx:1.27"}, labels={}, annotations={})
    for name in ("web", "api", "cart"):
        writing.create_appconfig(
            engine, namespace="team-a", name=name, content=content, actor="test"
        )
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))

    def coalesce() -> None:
        with write_session(engine) as session:
            provenance.coalesced_in(
                session, namespace="team-a", name="web", after=0, into=99,
                origin=provenance.Origin(),
            )  # fmt: skip

    reads = revision_reads(engine, coalesce)
    reads += revision_reads(
        engine, lambda: reading.list_revisions(engine, namespace="team-a", name="web")
    )
    assert len(reads) == 2, reads
    for statement, parameters in reads:
        found = plan(engine, statement, parameters)
        assert "namespace=? AND name=?" in found, f"{statement}\n{found}"
