"""Rolling a key back to one of its revisions: a write like any other, through the write
path of ``persistence.writing`` (one transaction: row, revision, outbox event)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Engine, select
from sqlmodel import Session, col

from persistence.db import write_session
from persistence.envelopes import event_key
from persistence.tables import AppConfigRow, Revision
from persistence.writing import (
    Content,
    NotFoundError,
    VersionConflictError,
    _incarnate,
    _live_row,
    _record,
    next_seq,
    utcnow,
)

#: Kubernetes' annotation for why an object changed; a rollback sets it to "rollback to N".
CHANGE_CAUSE = "kubernetes.io/change-cause"


class RevisionError(Exception):
    """The revision asked for is not one this key can be rolled back to (another key's, or
    its delete)."""


def rollback_appconfig(
    engine: Engine,
    *,
    namespace: str,
    name: str,
    to_version: int,
    expected_version: int | None,
    actor: str,
    max_event_bytes: int | None = None,
    check: Callable[[Content], None] | None = None,
) -> AppConfigRow:
    """Write the spec and labels of the key's revision ``to_version`` as a new revision
    (annotations kept, with ``kubernetes.io/change-cause: rollback to N``; revision op
    ``rollback``), a change like any other. A deleted key is recreated (new uid). Raises
    NotFoundError when the key has no revision at all, RevisionError when ``to_version`` is
    not a revision of this key or is its delete, VersionConflictError when
    ``expected_version`` is not the live object's seq (a deleted key has none), and
    EventTooLargeError as for ``create_appconfig``. A rollback to what the object holds
    writes nothing and returns the current row. ``check`` is called with the content the
    rollback would write, inside the transaction: what it raises leaves, nothing written."""
    with write_session(engine) as session:
        seq = next_seq(session)
        revision = _revision_of(session, namespace, name, to_version)
        cause = {CHANGE_CAUSE: f"rollback to {to_version}"}
        row = session.get(AppConfigRow, (namespace, name))
        if row is None or row.deleted:
            if expected_version is not None:
                raise VersionConflictError(expected_version, 0)
            content = Content(revision.spec, revision.labels, {**revision.annotations, **cause})
            if check is not None:
                check(content)
            row, op = _incarnate(row, namespace, name, seq, content), "c"
        else:
            row = _live_row(session, namespace, name, expected_version)
            content = Content(revision.spec, revision.labels, {**row.annotations, **cause})
            if check is not None:
                check(content)
            if Content(row.spec, row.labels, row.annotations) == content:
                session.expunge(row)
                session.rollback()
                return row
            row.generation += row.spec != content.spec
            row.spec, row.labels, row.annotations = (
                content.spec,
                content.labels,
                content.annotations,
            )
            row.seq, row.updated_at, op = seq, utcnow(), "u"
        _record(session, row, op=op, actor=actor, max_event_bytes=max_event_bytes, as_op="rollback")
        return row


def _revision_of(session: Session, namespace: str, name: str, seq: int) -> Revision:
    found = session.execute(select(Revision).where(col(Revision.seq) == seq))
    revision: Revision | None = found.scalar_one_or_none()
    if revision is not None and (revision.namespace, revision.name) == (namespace, name):
        if revision.op == "delete":
            raise RevisionError(f"revision {seq} is the delete of {event_key(namespace, name)}")
        return revision
    any_revision = select(col(Revision.id)).where(
        col(Revision.namespace) == namespace, col(Revision.name) == name
    )
    if session.execute(any_revision.limit(1)).first() is None:
        raise NotFoundError(event_key(namespace, name))
    raise RevisionError(f"{event_key(namespace, name)} has no revision {seq}")
