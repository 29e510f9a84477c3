"""The queries behind the API's change feed: which keys changed since a cursor.

A cursor is the highest ``seq`` seen (``appconfigs.seq`` is indexed and strictly increasing
in commit order, so ``seq > cursor`` finds every write of every process) and the newest
``sync_status.updated_at`` seen. Status rows carry no sequence of their own: they are read
``updated_at > newest - overlap`` (the overlap covers clocks of worker hosts that lag and
transactions that commit after a later-stamped one), and the caller drops the ones it has
already seen by their content. Purges (``finish_delete``) change no stamp: the caller keeps
the tombstones it saw and asks for the ones that are gone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, func, select
from sqlmodel import col

from persistence.db import read_session
from persistence.tables import AppConfigRow, SyncStatusRow

Key = tuple[str, str]
#: What a status row says, to tell a re-read row from a changed one.
StatusPrint = tuple[int, str, str, int, int, int, datetime]


@dataclass(frozen=True)
class Cursor:
    seq: int
    status_at: datetime | None


@dataclass(frozen=True)
class Changes:
    written: dict[Key, bool]  #: key -> is a tombstone, for every row written past the cursor
    statuses: dict[tuple[str, str, str], StatusPrint]  #: recent status rows by key and target
    purged: set[Key]  #: of the tombstones asked about, those no longer in the table
    cursor: Cursor


def start_cursor(engine: Engine) -> tuple[Cursor, set[Key]]:
    """The cursor at the newest write and status report, and the tombstones present."""
    with read_session(engine) as session:
        seq = session.execute(select(func.max(AppConfigRow.seq))).scalar() or 0
        at = session.execute(select(func.max(SyncStatusRow.updated_at))).scalar()
        tombs = session.execute(
            select(col(AppConfigRow.namespace), col(AppConfigRow.name)).where(
                col(AppConfigRow.deleted)
            )
        ).all()
    return Cursor(int(seq), at), {(str(ns), str(n)) for ns, n in tombs}


def changes_since(
    engine: Engine, cursor: Cursor, *, overlap: timedelta, tombstones: Iterable[Key]
) -> Changes:
    """Rows written past ``cursor.seq``, status rows stamped after ``cursor.status_at -
    overlap`` (all of them when None), and which of ``tombstones`` were purged."""
    with read_session(engine) as session:
        written = session.execute(
            select(
                col(AppConfigRow.namespace),
                col(AppConfigRow.name),
                col(AppConfigRow.seq),
                col(AppConfigRow.deleted),
            ).where(col(AppConfigRow.seq) > cursor.seq)
        ).all()
        query = select(SyncStatusRow)
        if cursor.status_at is not None:
            query = query.where(col(SyncStatusRow.updated_at) > cursor.status_at - overlap)
        statuses = list(session.execute(query).scalars())
        purged = {k for k in tombstones if session.get(AppConfigRow, k) is None}
    seq = max([cursor.seq, *(int(r[2]) for r in written)])
    stamps = [s.updated_at for s in statuses]
    at = max([*stamps, cursor.status_at]) if cursor.status_at else max(stamps, default=None)
    return Changes(
        written={(str(r[0]), str(r[1])): bool(r[3]) for r in written},
        statuses={
            (s.namespace, s.name, s.target): (
                s.applied_version,
                s.detail,
                s.last_error,
                s.attempts,
                s.failed_version,
                s.error_version,
                s.updated_at,
            )
            for s in statuses
        },
        purged=purged,
        cursor=Cursor(seq, at),
    )
