"""What the sync activities record about each target: applied version, errors, failure.

Idempotent writes, fenced on the version they are about: ``applied_version`` never moves
backwards (a late or replayed report of an older version leaves the newer one in place), an
attempt error never overwrites the status of a target that holds its version or newer, and
a success clears only errors of its version or older. Reports of one target serialise on
its status row (a row lock on PostgreSQL).
"""

from __future__ import annotations

import functools

from sqlalchemy import Engine, Insert, and_, case, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import Session, col

from persistence.db import read_session, write_session
from persistence.tables import AppConfigRow, SyncStatusRow
from persistence.writing import utcnow

MAX_ERROR_CHARS = 2000
#: The status entry of a key whose change event the relay set aside (see ``outbox``).
RELAY_TARGET = "relay"


def _new_row(
    namespace: str, name: str, target: str, *, applied_version: int = 0, detail: str = ""
) -> dict[str, object]:
    """The values of a status row that holds ``applied_version`` and no error or failure."""
    return {
        "namespace": namespace,
        "name": name,
        "target": target,
        "applied_version": applied_version,
        "detail": detail,
        "last_error": "",
        "attempts": 0,
        "failed_version": 0,
        "error_version": 0,
        "updated_at": utcnow(),
    }


def lock_status_row(session: Session, namespace: str, name: str, target: str) -> SyncStatusRow:
    """The key's status row for ``target``, created if absent, locked until commit.

    On PostgreSQL two reports of one target otherwise both read the old row and the later
    commit wins whatever its version; ``INSERT ... ON CONFLICT DO NOTHING`` then ``SELECT
    ... FOR UPDATE`` serialises them on the row (two first reports do not collide on the
    primary key either). SQLite write transactions are serialised already."""
    values = _new_row(namespace, name, target)
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(insert(SyncStatusRow).values(values).on_conflict_do_nothing())
    row = session.get(
        SyncStatusRow, (namespace, name, target), with_for_update=True, populate_existing=True
    )
    assert row is not None  # inserted above or already there, and locked
    return row


def record_applied(
    engine: Engine, *, namespace: str, name: str, target: str, version: int, detail: str
) -> None:
    """The target holds ``version`` (or newer). Clears a failure and the attempt error of
    ``version`` or older; an error about a newer version stays (a late report of an older
    success must not hide it). Drops the relay's entry for ``version`` or older."""
    with write_session(engine) as session:
        applied_in(
            session, namespace=namespace, name=name, target=target, version=version, detail=detail
        )


def applied_in(
    session: Session, *, namespace: str, name: str, target: str, version: int, detail: str
) -> None:
    """:func:`record_applied` inside the caller's write transaction ``session``: one upsert
    whose conditions read the row as it is when the upsert takes its lock (PostgreSQL's ``ON
    CONFLICT DO UPDATE`` locks the row; SQLite write transactions are serialised already)."""
    values = _new_row(namespace, name, target, applied_version=version, detail=detail)
    session.execute(_applied_statement(session.get_bind().dialect.name), values)
    # The version reached a target after all (re-driven from the row): an event of it,
    # or of an older version, that the relay could not publish no longer matters.
    session.execute(
        delete(SyncStatusRow).where(
            col(SyncStatusRow.namespace) == namespace,
            col(SyncStatusRow.name) == name,
            col(SyncStatusRow.target) == RELAY_TARGET,
            col(SyncStatusRow.failed_version) <= version,
        )
    )


@functools.cache
def _applied_statement(dialect: str) -> Insert:
    """The status row of a target that holds the inserted ``applied_version``: a new row as
    given; an existing row keeps a newer applied version, and drops a failure and the attempt
    error of that version or older (an error about a newer version stays). Every condition
    reads the row as it was before this statement."""
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    table = SyncStatusRow.__table__  # type: ignore[attr-defined]
    statement = insert(table)
    new, old = statement.excluded, table.c
    newer = new.applied_version >= old.applied_version
    failure_cleared = old.failed_version <= new.applied_version
    error_cleared = and_(failure_cleared, old.error_version <= new.applied_version)
    return statement.on_conflict_do_update(
        index_elements=["namespace", "name", "target"],
        set_={
            "applied_version": case((newer, new.applied_version), else_=old.applied_version),
            "detail": case((newer, new.detail), else_=old.detail),
            "failed_version": case((failure_cleared, 0), else_=old.failed_version),
            "last_error": case((error_cleared, ""), else_=old.last_error),
            "attempts": case((error_cleared, 0), else_=old.attempts),
            "error_version": case((error_cleared, 0), else_=old.error_version),
            "updated_at": new.updated_at,
        },
    )


def record_attempt_error(
    engine: Engine,
    *,
    namespace: str,
    name: str,
    target: str,
    version: int,
    attempt: int,
    error: str,
) -> None:
    """An attempt to bring the target to ``version`` failed and will be retried (or not);
    shown as lastError and attempts. Ignored when the target already holds ``version`` or
    newer (a zombie attempt's error never overwrites a success) or an error about a newer
    version is shown."""
    with write_session(engine) as session:
        row = lock_status_row(session, namespace, name, target)
        if row.applied_version >= version or row.error_version > version:
            return
        row.last_error, row.attempts = error[:MAX_ERROR_CHARS], attempt
        row.error_version = version
        row.updated_at = utcnow()


def record_failure(
    engine: Engine,
    *,
    namespace: str,
    name: str,
    target: str,
    version: int,
    error: str,
    permanent: bool = True,
    attempts: int = 0,
) -> None:
    """The sync of ``version`` on ``target`` failed: for good (``permanent``: phase Failed
    until cured) or transiently (phase Retrying: ``attempts`` so far and the error; the
    workflow retries it).

    Also recorded when the target already holds ``version``: a forced re-drive (drift repair,
    resync, replay) of the applied version that fails is Failed like any other sync, and a
    later successful apply of that version clears it. Only a newer applied version makes the
    report stale, and so does an error about a newer version."""
    with write_session(engine) as session:
        row = lock_status_row(session, namespace, name, target)
        if row.applied_version <= version and row.error_version <= version:
            if permanent:
                row.failed_version = max(row.failed_version, version)
            same = row.error_version == version
            row.attempts = max(row.attempts, attempts) if same else attempts
            row.last_error, row.error_version = error[:MAX_ERROR_CHARS], version
        row.updated_at = utcnow()


def finish_delete(engine: Engine, *, namespace: str, name: str, version: int) -> bool:
    """After the compensation of the delete at ``version``: purge the tombstone if it is
    still that delete and drop the key's status rows; False (nothing changed) when the key
    was recreated or deleted again since. Idempotent: a purged key answers True again.

    The purge is one conditional DELETE, so the condition is checked on the row it deletes:
    a recreate that commits while the purge waits for its row lock is re-checked by
    PostgreSQL and survives (a read, then a delete by key, would remove it)."""
    with write_session(engine) as session:
        purged = session.execute(
            delete(AppConfigRow).where(
                col(AppConfigRow.namespace) == namespace,
                col(AppConfigRow.name) == name,
                col(AppConfigRow.deleted).is_(True),
                col(AppConfigRow.seq) <= version,
            )
        )
        if not getattr(purged, "rowcount", 0) and (
            session.get(AppConfigRow, (namespace, name)) is not None
        ):
            return False
        session.execute(
            delete(SyncStatusRow).where(
                col(SyncStatusRow.namespace) == namespace, col(SyncStatusRow.name) == name
            )
        )
        return True


def forget_target(engine: Engine, *, namespace: str, name: str, target: str, version: int) -> None:
    """The key left ``target`` at ``version``: drop its status entry there, unless the
    target has been written a newer version since (the key came back)."""
    with write_session(engine) as session:
        session.execute(
            delete(SyncStatusRow).where(
                col(SyncStatusRow.namespace) == namespace,
                col(SyncStatusRow.name) == name,
                col(SyncStatusRow.target) == target,
                col(SyncStatusRow.applied_version) <= version,
            )
        )


def applied_versions(
    engine: Engine, *, namespace: str | None = None, name: str | None = None
) -> dict[tuple[str, str, str], int]:
    """The applied version of each (namespace, name, target) status row (in ``namespace``,
    or all; of the key ``name`` there): four columns, no error text or ORM objects."""
    query = select(
        col(SyncStatusRow.namespace),
        col(SyncStatusRow.name),
        col(SyncStatusRow.target),
        col(SyncStatusRow.applied_version),
    )
    if namespace is not None:
        query = query.where(col(SyncStatusRow.namespace) == namespace)
    if name is not None:
        query = query.where(col(SyncStatusRow.name) == name)
    with read_session(engine) as session:
        return {(ns, n, t): int(v) for ns, n, t, v in session.execute(query)}


def list_status(engine: Engine, *, namespace: str | None = None) -> list[SyncStatusRow]:
    with Session(engine) as session:
        query = select(SyncStatusRow)
        if namespace is not None:
            query = query.where(col(SyncStatusRow.namespace) == namespace)
        return list(session.execute(query).scalars())
