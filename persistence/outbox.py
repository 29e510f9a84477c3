"""The relay's view of the outbox: unpublished events in seq order, marking, setting aside,
retention.

An event the broker or producer refuses for good (too large, say) is *set aside*: its
outbox row keeps the error and is skipped from then on, and the key gets a ``relay`` status
entry (``failed_version`` = the event's seq), so the API shows the sync as Failed with the
error until a target reports that version or newer (a re-drive from the row, which stays
the truth). Set-aside rows are not purged: they are the record of what was not published.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta

import psycopg
from sqlalchemy import ColumnElement, Engine, and_, delete, func, select, update
from sqlalchemy.engine import make_url
from sqlmodel import Session, col

from persistence.db import psycopg_conninfo, write_session
from persistence.syncstatus import MAX_ERROR_CHARS, RELAY_TARGET, lock_status_row
from persistence.tables import OutboxEvent
from persistence.writing import NOTIFY_CHANNEL, utcnow

__all__ = [
    "NOTIFY_CHANNEL",
    "PendingEvent",
    "SetAsideEvent",
    "fetch_unpublished",
    "listen_for_writes",
    "mark_published",
    "oldest_unpublished_at",
    "purge_published",
    "set_aside",
    "set_aside_events",
    "watch_for_writes",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class PendingEvent:
    seq: int
    key: str
    envelope: str


@dataclass(frozen=True)
class SetAsideEvent:
    seq: int
    key: str
    error: str


def _pending() -> ColumnElement[bool]:
    return and_(col(OutboxEvent.published_at).is_(None), col(OutboxEvent.error).is_(None))


def fetch_unpublished(engine: Engine, *, limit: int) -> list[PendingEvent]:
    """The oldest events neither published nor set aside, in seq order."""
    with Session(engine) as session:
        query = select(OutboxEvent).where(_pending()).order_by(col(OutboxEvent.seq)).limit(limit)
        return [PendingEvent(e.seq, e.key, e.envelope) for e in session.execute(query).scalars()]


def mark_published(engine: Engine, *, seqs: list[int]) -> None:
    """Idempotent: marking an already published event again changes nothing that matters."""
    if not seqs:
        return
    with write_session(engine) as session:
        session.execute(
            update(OutboxEvent).where(col(OutboxEvent.seq).in_(seqs)).values(published_at=utcnow())
        )


def set_aside(engine: Engine, *, event: PendingEvent, error: str) -> None:
    """Record that ``event`` was refused for good: the relay skips it from now on, and the
    key's status shows the error (phase Failed for that version). One transaction."""
    namespace, _, name = event.key.partition("/")
    message = f"change event of version {event.seq} not published: {error}"[:MAX_ERROR_CHARS]
    with write_session(engine) as session:
        session.execute(
            update(OutboxEvent).where(col(OutboxEvent.seq) == event.seq).values(error=message)
        )
        status = lock_status_row(session, namespace, name, RELAY_TARGET)
        if status.failed_version < event.seq:
            status.failed_version = status.error_version = event.seq
            status.last_error, status.attempts = message, 1
        status.updated_at = utcnow()


def set_aside_events(engine: Engine) -> list[SetAsideEvent]:
    """Every event set aside, in seq order, with its error."""
    with Session(engine) as session:
        query = (
            select(OutboxEvent)
            .where(col(OutboxEvent.error).is_not(None))
            .order_by(col(OutboxEvent.seq))
        )
        return [
            SetAsideEvent(e.seq, e.key, e.error or "") for e in session.execute(query).scalars()
        ]


def oldest_unpublished_at(engine: Engine) -> datetime | None:
    """Creation time of the oldest event still to publish (set-aside ones do not count)."""
    with Session(engine) as session:
        query = select(func.min(OutboxEvent.created_at)).where(_pending())
        value: datetime | None = session.execute(query).scalar_one_or_none()
        return value


def purge_published(engine: Engine, *, older_than: timedelta) -> int:
    """Drop events published longer ago than ``older_than``; returns how many."""
    with write_session(engine) as session:
        result = session.execute(
            delete(OutboxEvent).where(col(OutboxEvent.published_at) < utcnow() - older_than)
        )
        return int(getattr(result, "rowcount", 0) or 0)


async def listen_for_writes(db_url: str, wake: asyncio.Event) -> None:
    """Set ``wake`` on every NOTIFY a committed write sends (PostgreSQL only); runs until
    cancelled and reconnects after a connection loss."""
    conninfo = psycopg_conninfo(db_url)
    while True:
        try:
            async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
                await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                async for _ in conn.notifies():
                    wake.set()
        except psycopg.Error as err:
            logger.warning("LISTEN connection lost (%s); reconnecting", err)
            await asyncio.sleep(1)


async def watch_for_writes(db_url: str, wake: asyncio.Event, *, interval_s: float) -> None:
    """Set ``wake`` soon after another connection commits an outbox event (SQLite file only);
    runs until cancelled.

    SQLite has no NOTIFY. ``PRAGMA data_version`` on one long-lived connection changes when
    any other connection (of this process or another) commits; reading it only consults the
    WAL index in shared memory, so it is cheap at a short ``interval_s``. A change of it is
    then narrowed to the outbox by its highest seq, so the commits of the status and
    provenance tables (and the relay's own marks) wake nobody."""
    database = make_url(db_url).database
    if not database or database == ":memory:":
        return
    conn = sqlite3.connect(database, timeout=interval_s, isolation_level=None)
    try:
        version, newest = -1, -1
        while True:
            try:
                changed = conn.execute("PRAGMA data_version").fetchone()[0]
                if changed != version:
                    version = changed
                    seq = conn.execute("SELECT coalesce(max(seq), 0) FROM outbox").fetchone()[0]
                    if seq > newest >= 0:
                        wake.set()
                    newest = seq
            except sqlite3.OperationalError as err:  # busy past the timeout: look again
                logger.debug("commit watch: %s", err)
            await asyncio.sleep(interval_s)
    finally:
        conn.close()
