"""Where each version of each key went: one row per (key, version, stage), written as the
sync writes its results, so reading it never scans Temporal histories.

Stages: ``publish`` (the relay: Kafka topic, partition, offset), one per target
(``kubernetes``, ``git``: what the activity wrote, or why it wrote nothing, with the
workflow id, run id, activity id and attempt that did it) and ``sync`` (what the workflow
decided about the version as a whole: coalesced into a newer one, failed, retrying, deleted).
The commit time and actor are the revision's (``revisions``).

A row is upserted: the latest report of a stage wins, except that a success
(``applied``, ``removed``) is never overwritten by a failure, so a zombie attempt that fails
after another attempt succeeded does not hide the success.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Engine,
    Insert,
    UniqueConstraint,
    bindparam,
    exists,
    or_,
    select,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Field, Session, SQLModel, col

from persistence.db import read_session, write_session
from persistence.tables import Revision
from persistence.writing import utcnow

STAGE_PUBLISH = "publish"
STAGE_SYNC = "sync"

APPLIED = "applied"
REMOVED = "removed"
PUBLISHED = "published"
SET_ASIDE = "set-aside"
SUPERSEDED = "superseded"
SKIPPED_NEWER = "skipped-newer"
FAILED = "failed"
RETRYING = "retrying"
COALESCED = "coalesced"
DELETED = "deleted"
SUCCESSES = (APPLIED, REMOVED, PUBLISHED, DELETED)


class ProvenanceRow(SQLModel, table=True):
    __tablename__ = "sync_provenance"
    __table_args__ = (UniqueConstraint("namespace", "name", "seq", "stage"),)

    id: int | None = Field(default=None, primary_key=True)
    namespace: str = Field(max_length=63)
    name: str = Field(max_length=253)
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    stage: str = Field(max_length=32)
    outcome: str = Field(max_length=32)
    #: The stage's own facts: topic/partition/offset, resourceVersion, commit, error, ...
    detail: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    workflow_id: str = Field(default="", max_length=400)
    run_id: str = Field(default="", max_length=64)
    activity_id: str = Field(default="", max_length=64)
    activity_type: str = Field(default="", max_length=64)
    attempt: int = 0
    #: metadata.uid of the Kubernetes object the stage wrote; joins a cluster object back.
    object_uid: str = Field(default="", max_length=36, index=True)
    recorded_at: datetime


@dataclass(frozen=True)
class Origin:
    """Which workflow run and activity attempt reported a stage (blank outside one)."""

    workflow_id: str = ""
    run_id: str = ""
    activity_id: str = ""
    activity_type: str = ""
    attempt: int = 0


@dataclass(frozen=True)
class Record:
    namespace: str
    name: str
    seq: int
    stage: str
    outcome: str
    detail: dict[str, Any] = field(default_factory=dict)
    origin: Origin = Origin()
    object_uid: str = ""


#: Versions of a key between ``after`` and ``into`` (exclusive) no stage but the relay
#: reported; one statement (both tables are searched by their index over the key).
_UNREPORTED = select(col(Revision.seq)).where(
    col(Revision.namespace) == bindparam("namespace"),
    col(Revision.name) == bindparam("name"),
    col(Revision.seq) > bindparam("after"),
    col(Revision.seq) < bindparam("into"),
    ~exists().where(
        col(ProvenanceRow.namespace) == col(Revision.namespace),
        col(ProvenanceRow.name) == col(Revision.name),
        col(ProvenanceRow.seq) == col(Revision.seq),
        col(ProvenanceRow.stage) != STAGE_PUBLISH,
    ),
)


def _values(record: Record) -> dict[str, Any]:
    o = record.origin
    return {
        "namespace": record.namespace,
        "name": record.name,
        "seq": record.seq,
        "stage": record.stage,
        "outcome": record.outcome,
        "detail": record.detail,
        "workflow_id": o.workflow_id,
        "run_id": o.run_id,
        "activity_id": o.activity_id,
        "activity_type": o.activity_type,
        "attempt": o.attempt,
        "object_uid": record.object_uid,
        "recorded_at": utcnow(),
    }


@functools.cache
def _upsert_statement(dialect: str) -> Insert:
    """The upsert of one row, built once per dialect; the row's values are its parameters."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = ProvenanceRow.__table__  # type: ignore[attr-defined]
    statement = insert(table)
    new = statement.excluded
    return statement.on_conflict_do_update(
        index_elements=["namespace", "name", "seq", "stage"],
        set_={c.name: new[c.name] for c in table.c if c.name not in ("id", "namespace", "name")},
        # A success stays: a late failure of a zombie attempt must not hide it.
        where=or_(table.c.outcome.not_in(SUCCESSES), new.outcome.in_(SUCCESSES)),
    )


def upsert(session: Session, records: Iterable[Record]) -> None:
    """Upsert each record inside the caller's write transaction ``session``."""
    statement = _upsert_statement(session.get_bind().dialect.name)
    for record in records:
        session.execute(statement, _values(record))


def record(engine: Engine, *records: Record) -> None:
    """Upsert each record (see the module's rule on successes)."""
    with write_session(engine) as session:
        upsert(session, records)


def record_coalesced(
    engine: Engine, *, namespace: str, name: str, after: int, into: int, origin: Origin
) -> list[int]:
    """Versions of the key between ``after`` and ``into`` (exclusive) that no stage but the
    relay reported: the workflow never handled them, ``into`` carried their change. Returns
    them."""
    with write_session(engine) as session:
        return coalesced_in(
            session, namespace=namespace, name=name, after=after, into=into, origin=origin
        )


def coalesced_in(
    session: Session, *, namespace: str, name: str, after: int, into: int, origin: Origin
) -> list[int]:
    """:func:`record_coalesced` inside the caller's write transaction ``session``."""
    found = session.execute(
        _UNREPORTED, {"namespace": namespace, "name": name, "after": after, "into": into}
    )
    skipped = [int(s) for s in found.scalars()]
    upsert(
        session,
        (
            Record(namespace, name, s, STAGE_SYNC, COALESCED, {"into": into}, origin)
            for s in skipped
        ),
    )
    return skipped


def of_key(engine: Engine, *, namespace: str, name: str) -> dict[int, list[ProvenanceRow]]:
    """Every stage recorded for the key, by version."""
    with read_session(engine) as session:
        query = (
            select(ProvenanceRow)
            .where(col(ProvenanceRow.namespace) == namespace, col(ProvenanceRow.name) == name)
            .order_by(col(ProvenanceRow.seq), col(ProvenanceRow.id))
        )
        found: dict[int, list[ProvenanceRow]] = {}
        for row in session.execute(query).scalars():
            found.setdefault(row.seq, []).append(row)
        return found


def by_object_uid(engine: Engine, uid: str) -> list[ProvenanceRow]:
    """The stages that wrote the Kubernetes object ``uid``, oldest version first."""
    with read_session(engine) as session:
        query = (
            select(ProvenanceRow)
            .where(col(ProvenanceRow.object_uid) == uid)
            .order_by(col(ProvenanceRow.seq))
        )
        return list(session.execute(query).scalars())


def summarize(rows: list[ProvenanceRow], targets: tuple[str, ...], op: str) -> str:
    """One word for where a version went: deleted, coalesced, synced (every target holds
    it), failed, superseded, retrying, else published or committed."""
    by_stage = {r.stage: r.outcome for r in rows}
    sync = by_stage.get(STAGE_SYNC)
    if sync in (DELETED, COALESCED):
        return sync
    done = REMOVED if op == "delete" else APPLIED
    if targets and all(by_stage.get(t) == done for t in targets):
        return "synced"
    outcomes = set(by_stage.values())
    for outcome in (FAILED, SUPERSEDED, RETRYING):
        if outcome in outcomes:
            return outcome
    if SKIPPED_NEWER in outcomes:
        return SUPERSEDED
    return "published" if by_stage.get(STAGE_PUBLISH) == PUBLISHED else "committed"
