"""Writes to AppConfigs: each one a single transaction of entity + revision + outbox row.

Every write first increments the change-sequence row. That statement takes the row lock
(PostgreSQL) or runs inside ``BEGIN IMMEDIATE`` (SQLite), so writers serialize there and
``seq`` is strictly increasing in commit order. A rejected or failed write rolls back
whole: no row, revision or event is left behind.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, text
from sqlmodel import Session

from persistence.db import write_session
from persistence.envelopes import envelope, event_key, row_image
from persistence.tables import AppConfigRow, OutboxEvent, Revision
from vocabulary.limits import json_text

#: PostgreSQL channel notified on every committed write (the relay listens).
NOTIFY_CHANNEL = "rendersync_outbox"


class NotFoundError(Exception):
    """No live AppConfig with that namespace and name."""


class AlreadyExistsError(Exception):
    """An AppConfig with that namespace and name exists."""


class VersionConflictError(Exception):
    """The caller's expected version is not the current one."""

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(f"expected version {expected}, current version is {actual}")
        self.expected = expected
        self.actual = actual


class EventTooLargeError(Exception):
    """The change event of the write would exceed the limit the relay's producer accepts;
    ``content`` is what the write would have stored."""

    def __init__(self, size: int, limit: int, content: Content) -> None:
        super().__init__(f"the change event would be {size} bytes, max {limit}")
        self.size = size
        self.limit = limit
        self.content = content


class UidConflictError(Exception):
    """The caller's expected uid is not the current object's (it was deleted and recreated)."""

    def __init__(self, expected: str, actual: str) -> None:
        super().__init__(f"UID in precondition: {expected}, UID in object meta: {actual}")
        self.expected = expected
        self.actual = actual


@dataclass(frozen=True)
class Content:
    """What a client controls on an AppConfig."""

    spec: dict[str, Any]
    labels: dict[str, str]
    annotations: dict[str, str]


def utcnow() -> datetime:
    return datetime.now(UTC)


def next_seq(session: Session) -> int:
    result = session.execute(
        text("UPDATE change_sequence SET value = value + 1 WHERE id = 1 RETURNING value")
    )
    return int(result.scalar_one())


def create_appconfig(
    engine: Engine,
    *,
    namespace: str,
    name: str,
    content: Content,
    actor: str,
    max_event_bytes: int | None = None,
    dry_run: bool = False,
) -> AppConfigRow:
    """Create; a tombstoned (deleted) name is recreated with a new uid. Raises
    AlreadyExistsError if a live one exists, EventTooLargeError if the change event would
    exceed ``max_event_bytes`` (None: no limit). ``dry_run``: everything a write does,
    then rolled back; the row returned is what it would have written (at the seq it would
    have had, which a concurrent write may take)."""
    with _transaction(engine, dry_run=dry_run) as session:
        seq = next_seq(session)
        row = session.get(AppConfigRow, (namespace, name))
        if row is not None and not row.deleted:
            raise AlreadyExistsError(event_key(namespace, name))
        row = _incarnate(row, namespace, name, seq, content)
        _record(session, row, op="c", actor=actor, max_event_bytes=max_event_bytes)
        return row


def _incarnate(
    row: AppConfigRow | None, namespace: str, name: str, seq: int, content: Content
) -> AppConfigRow:
    """A new incarnation of the key (new uid, generation 1) in ``row`` (a tombstone) or anew."""
    now = utcnow()
    if row is None:
        row = AppConfigRow(
            namespace=namespace,
            name=name,
            uid="",
            seq=seq,
            generation=1,
            spec={},
            labels={},
            annotations={},
            created_at=now,
            updated_at=now,
        )
    row.uid, row.seq, row.generation, row.deleted = str(uuid.uuid4()), seq, 1, False
    row.spec, row.labels, row.annotations = content.spec, content.labels, content.annotations
    row.created_at = row.updated_at = now
    return row


@contextmanager
def _transaction(engine: Engine, *, dry_run: bool) -> Iterator[Session]:
    """A write transaction; with ``dry_run`` it is rolled back at the end, so nothing it did
    (the seq taken, row, revision, outbox row, NOTIFY) is ever seen by anyone."""
    with write_session(engine) as session:
        yield session
        if dry_run:
            session.rollback()


def update_appconfig(
    engine: Engine,
    *,
    namespace: str,
    name: str,
    content: Content,
    expected_version: int | None,
    actor: str,
    max_event_bytes: int | None = None,
    dry_run: bool = False,
) -> AppConfigRow:
    """Replace labels, annotations and spec; see ``modify_appconfig``."""
    return modify_appconfig(
        engine,
        namespace=namespace,
        name=name,
        change=lambda _row: content,
        expected_version=expected_version,
        actor=actor,
        max_event_bytes=max_event_bytes,
        dry_run=dry_run,
    )


def modify_appconfig(
    engine: Engine,
    *,
    namespace: str,
    name: str,
    change: Callable[[AppConfigRow], Content],
    expected_version: int | None,
    actor: str,
    max_event_bytes: int | None = None,
    dry_run: bool = False,
) -> AppConfigRow:
    """Compute the new content from the current row inside the write transaction (so a
    merge patch never races another writer). ``expected_version`` (if given) must be the
    current seq, else VersionConflictError. Whatever ``change`` raises rolls back. A change
    that alters nothing writes nothing and returns the current row, version unchanged.
    EventTooLargeError and ``dry_run`` as for ``create_appconfig``."""
    with _transaction(engine, dry_run=dry_run) as session:
        seq = next_seq(session)
        row = _live_row(session, namespace, name, expected_version)
        content = change(row)
        if Content(row.spec, row.labels, row.annotations) == content:
            session.expunge(row)
            session.rollback()  # gives back the seq: nothing was written
            return row
        if row.spec != content.spec:
            row.generation += 1
        row.spec, row.labels, row.annotations = content.spec, content.labels, content.annotations
        row.seq, row.updated_at = seq, utcnow()
        _record(session, row, op="u", actor=actor, max_event_bytes=max_event_bytes)
        return row


def delete_appconfig(
    engine: Engine,
    *,
    namespace: str,
    name: str,
    expected_version: int | None,
    actor: str,
    expected_uid: str | None = None,
) -> AppConfigRow:
    """Delete by writing a tombstone at a new seq; returns the tombstone. ``expected_uid``
    (if given) must be the live object's uid, else UidConflictError. A delete has no size
    limit: it must stay possible for a row written under a larger one."""
    with write_session(engine) as session:
        seq = next_seq(session)
        row = _live_row(session, namespace, name, expected_version)
        if expected_uid is not None and expected_uid != row.uid:
            raise UidConflictError(expected_uid, row.uid)
        row.deleted, row.seq, row.updated_at = True, seq, utcnow()
        _record(session, row, op="d", actor=actor, max_event_bytes=None)
        return row


def _live_row(
    session: Session, namespace: str, name: str, expected_version: int | None
) -> AppConfigRow:
    row = session.get(AppConfigRow, (namespace, name))
    if row is None or row.deleted:
        raise NotFoundError(event_key(namespace, name))
    if expected_version is not None and expected_version != row.seq:
        raise VersionConflictError(expected_version, row.seq)
    return row


def _database_name(session: Session) -> str:
    bind = session.get_bind()
    return (bind.engine.url.database or "") if bind is not None else ""


def _record(
    session: Session,
    row: AppConfigRow,
    *,
    op: str,
    actor: str,
    max_event_bytes: int | None,
    as_op: str | None = None,
) -> None:
    """Stage the row, its revision and its outbox event in the open transaction. The event
    carries the row image once (``after``, or ``before`` for a delete; an update's old
    image is not needed downstream) and is checked against ``max_event_bytes``. ``as_op``
    names the revision's op when it is not the event's (``rollback``)."""
    session.add(row)
    session.flush()
    image = row_image(row)
    change = envelope(
        op=op,
        before=image if op == "d" else None,
        after=None if op == "d" else image,
        seq=row.seq,
        committed_at=row.updated_at,
        database=_database_name(session),
    )
    session.add(
        Revision(
            seq=row.seq,
            namespace=row.namespace,
            name=row.name,
            op=as_op or {"c": "create", "u": "update", "d": "delete"}[op],
            actor=actor,
            uid=row.uid,
            generation=row.generation,
            spec=row.spec,
            labels=row.labels,
            annotations=row.annotations,
            created_at=row.updated_at,
        )
    )
    encoded = json_text(change)
    if max_event_bytes is not None and (size := len(encoded.encode())) > max_event_bytes:
        raise EventTooLargeError(
            size, max_event_bytes, Content(row.spec, row.labels, row.annotations)
        )
    session.add(
        OutboxEvent(
            seq=row.seq,
            key=event_key(row.namespace, row.name),
            envelope=encoded,
            created_at=row.updated_at,
        )
    )
    session.flush()
    if session.get_bind().dialect.name == "postgresql":
        # Wakes the relay at commit; delivered only if the transaction commits.
        session.execute(text(f"NOTIFY {NOTIFY_CHANNEL}"))
    session.expunge(row)
