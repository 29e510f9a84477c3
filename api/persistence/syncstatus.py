"""What the sync activities record about each target: applied version, errors, failure.

Idempotent writes. ``applied_version`` never moves backwards: a late or replayed report of
an older version leaves the newer one in place.
"""

from __future__ import annotations

from sqlalchemy import Engine, delete, select
from sqlmodel import Session, col

from api.persistence.db import write_session
from api.persistence.tables import AppConfigRow, SyncStatusRow
from api.persistence.writing import utcnow

MAX_ERROR_CHARS = 2000


def _row(session: Session, namespace: str, name: str, target: str) -> SyncStatusRow:
    row = session.get(SyncStatusRow, (namespace, name, target))
    if row is None:
        row = SyncStatusRow(namespace=namespace, name=name, target=target, updated_at=utcnow())
    return row


def record_applied(
    engine: Engine, *, namespace: str, name: str, target: str, version: int, detail: str
) -> None:
    """The target holds ``version`` (or newer); clears the error of older versions."""
    with write_session(engine) as session:
        row = _row(session, namespace, name, target)
        if version >= row.applied_version:
            row.applied_version, row.detail = version, detail
        if row.failed_version <= version:
            row.failed_version, row.last_error, row.attempts = 0, "", 0
        row.updated_at = utcnow()
        session.add(row)


def record_attempt_error(
    engine: Engine, *, namespace: str, name: str, target: str, attempt: int, error: str
) -> None:
    """An attempt failed and will be retried (or not); shown as lastError and attempts."""
    with write_session(engine) as session:
        row = _row(session, namespace, name, target)
        row.last_error, row.attempts = error[:MAX_ERROR_CHARS], attempt
        row.updated_at = utcnow()
        session.add(row)


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
    report stale."""
    with write_session(engine) as session:
        row = _row(session, namespace, name, target)
        if row.applied_version <= version:
            if permanent:
                row.failed_version = max(row.failed_version, version)
            row.attempts = max(row.attempts, attempts)
            row.last_error = error[:MAX_ERROR_CHARS]
        row.updated_at = utcnow()
        session.add(row)


def finish_delete(engine: Engine, *, namespace: str, name: str, version: int) -> bool:
    """After the compensation of the delete at ``version``: drop the status rows and purge
    the tombstone if it is still that delete (a recreate since then is left alone)."""
    with write_session(engine) as session:
        row = session.get(AppConfigRow, (namespace, name))
        if row is not None and (not row.deleted or row.seq > version):
            return False
        session.execute(
            delete(SyncStatusRow).where(
                col(SyncStatusRow.namespace) == namespace, col(SyncStatusRow.name) == name
            )
        )
        if row is not None:
            session.delete(row)
        return True


def list_status(engine: Engine, *, namespace: str | None = None) -> list[SyncStatusRow]:
    with Session(engine) as session:
        query = select(SyncStatusRow)
        if namespace is not None:
            query = query.where(col(SyncStatusRow.namespace) == namespace)
        return list(session.execute(query).scalars())
