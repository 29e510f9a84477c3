"""Events are hints; the row decides: the bridge's check of change events against the row.

Most events are handed to the workflow as they are. An event whose ``seq`` is above the
database's change sequence names a version no write ever committed (a forged or corrupt
message): handed over, it would fence out every real version of its key in the workflow,
forever. It is resolved against the key's row instead: the row's current version is handed
over (a delete when the row is a tombstone), or, with no row, the message goes to the DLQ.

An upsert whose image lacks json columns (Debezium's unavailable-value placeholder for an
unchanged TOASTed value, under REPLICA IDENTITY DEFAULT) cannot be applied as it stands:
the row's image is handed over when the row holds that version or a newer one (a tombstone:
a delete). An absent row was purged once a later delete was compensated: nothing to do. A
row below the event's version never had it: the message goes to the DLQ. A delete needs no
image (its seq is complete), so it is handed over as it is.

The change sequence's high-water mark is cached and re-read only when an event exceeds it:
about one read of one row per poll batch. A database that does not answer pauses the
bridge (retried with backoff until ``stop``), like an unavailable Temporal: nothing is
skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from api.persistence.reading import current_seq, get_row
from api.persistence.tables import AppConfigRow
from worker import metrics
from worker.events import Change
from worker.resyncing import forced_event
from workflows.contracts import OP_UPSERT, ChangeEvent

logger = logging.getLogger(__name__)
T = TypeVar("T")


class StoppedError(Exception):
    """``stop`` was set before the database answered; the batch must not be committed."""


@dataclass(frozen=True)
class Resolution:
    """What to do with one parsed change: hand ``event`` over (None: nothing to do), or,
    when ``dead_letter`` gives a reason, send the message to the DLQ."""

    event: ChangeEvent | None
    dead_letter: str = ""


class RowResolver:
    """Resolves change events against the appconfigs rows of ``engine`` (read only)."""

    def __init__(self, engine: Engine, *, max_backoff_s: float = 10.0) -> None:
        self.engine = engine
        self.max_backoff_s = max_backoff_s
        self._high_water = 0
        self._lock = asyncio.Lock()

    async def resolve(self, change: Change, *, stop: asyncio.Event) -> Resolution:
        """The event to hand over for ``change``; raises StoppedError if stopped meanwhile."""
        event = change.event
        if event.seq > await self._sequence_at_least(event.seq, stop=stop):
            return await self._beyond_sequence(event, stop=stop)
        if change.unavailable and event.op == OP_UPSERT:
            return await self._incomplete(change, stop=stop)
        return Resolution(event)

    async def _sequence_at_least(self, seq: int, *, stop: asyncio.Event) -> int:
        """The change sequence's high-water mark, re-read only when ``seq`` exceeds it."""
        if seq > self._high_water:
            async with self._lock:  # partitions of one batch share one read
                if seq > self._high_water:
                    value = await self._read(lambda: current_seq(self.engine), stop=stop)
                    self._high_water = max(self._high_water, value)
        return self._high_water

    async def _beyond_sequence(self, event: ChangeEvent, *, stop: asyncio.Event) -> Resolution:
        row = await self._row(event.key, stop=stop)
        if row is None:
            return Resolution(
                None,
                dead_letter=f"seq {event.seq} is beyond the change sequence "
                f"({self._high_water}) and no row backs {event.key}",
            )
        logger.warning(
            "%s: seq %d is beyond the change sequence (%d); handing over the row's v%d",
            event.key,
            event.seq,
            self._high_water,
            row.seq,
        )
        metrics.EVENTS_RESOLVED.labels(reason="beyond-sequence").inc()
        return Resolution(row_event(row))

    async def _incomplete(self, change: Change, *, stop: asyncio.Event) -> Resolution:
        event = change.event
        row = await self._row(event.key, stop=stop)
        if row is None:
            return Resolution(None)  # purged after its delete was compensated
        if row.seq < event.seq:
            return Resolution(
                None, dead_letter=f"the row of {event.key} is at v{row.seq}, never at v{event.seq}"
            )
        logger.info(
            "%s: %s unavailable in the image of v%d; handing over the row's v%d",
            event.key,
            ", ".join(change.unavailable),
            event.seq,
            row.seq,
        )
        metrics.EVENTS_RESOLVED.labels(reason="unavailable-columns").inc()
        # The commit time is the event's only when the row is still at the event's version.
        committed = event.committed_at_ms if row.seq == event.seq else 0
        return Resolution(row_event(row, committed_at_ms=committed))

    async def _row(self, key: str, *, stop: asyncio.Event) -> AppConfigRow | None:
        namespace, _, name = key.partition("/")
        return await self._read(
            lambda: get_row(self.engine, namespace=namespace, name=name), stop=stop
        )

    async def _read(self, read: Callable[[], T], *, stop: asyncio.Event) -> T:
        """``read()`` in a thread, retried with exponential backoff until it answers."""
        delay = 0.2
        while not stop.is_set():
            try:
                return await asyncio.to_thread(read)
            except (SQLAlchemyError, OSError) as err:
                logger.warning("database read failed (%s); retrying", err)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)
                delay = min(delay * 2, self.max_backoff_s)
        raise StoppedError


def row_event(row: AppConfigRow, *, committed_at_ms: int = 0) -> ChangeEvent:
    """The change event of ``row`` as it stands (a tombstone: a delete), not forced."""
    return replace(forced_event(row), force=False, committed_at_ms=committed_at_ms)
