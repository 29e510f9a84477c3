"""The relay's view of the outbox: unpublished events in seq order, marking, retention."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, delete, func, select, update
from sqlmodel import Session, col

from api.persistence.db import write_session
from api.persistence.tables import OutboxEvent
from api.persistence.writing import NOTIFY_CHANNEL, utcnow

__all__ = [
    "NOTIFY_CHANNEL",
    "PendingEvent",
    "fetch_unpublished",
    "mark_published",
    "oldest_unpublished_at",
    "purge_published",
]


@dataclass(frozen=True)
class PendingEvent:
    seq: int
    key: str
    envelope: str


def fetch_unpublished(engine: Engine, *, limit: int) -> list[PendingEvent]:
    """The oldest unpublished events, in seq order."""
    with Session(engine) as session:
        query = (
            select(OutboxEvent)
            .where(col(OutboxEvent.published_at).is_(None))
            .order_by(col(OutboxEvent.seq))
            .limit(limit)
        )
        return [PendingEvent(e.seq, e.key, e.envelope) for e in session.execute(query).scalars()]


def mark_published(engine: Engine, *, seqs: list[int]) -> None:
    """Idempotent: marking an already published event again changes nothing that matters."""
    if not seqs:
        return
    with write_session(engine) as session:
        session.execute(
            update(OutboxEvent).where(col(OutboxEvent.seq).in_(seqs)).values(published_at=utcnow())
        )


def oldest_unpublished_at(engine: Engine) -> datetime | None:
    with Session(engine) as session:
        query = select(func.min(OutboxEvent.created_at)).where(
            col(OutboxEvent.published_at).is_(None)
        )
        value: datetime | None = session.execute(query).scalar_one_or_none()
        return value


def purge_published(engine: Engine, *, older_than: timedelta) -> int:
    """Drop events published longer ago than ``older_than``; returns how many."""
    with write_session(engine) as session:
        result = session.execute(
            delete(OutboxEvent).where(col(OutboxEvent.published_at) < utcnow() - older_than)
        )
        return int(getattr(result, "rowcount", 0) or 0)
