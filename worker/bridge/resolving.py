"""Events are hints; the row decides: the bridge's check of change events against the row.

Most events are handed to the workflow as they are. An event whose ``seq`` is above the
database's change sequence names a version no write ever committed (a forged or corrupt
message): handed over, it would fence out every real version of its key in the workflow,
forever. It is resolved against the key's row instead: the row's current version is handed
over (a delete when the row is a tombstone), or, with no row or a row of another
incarnation (another uid), the message goes to the DLQ.

An upsert whose image lacks json columns (Debezium's unavailable-value placeholder for an
unchanged TOASTed value, under REPLICA IDENTITY DEFAULT) cannot be applied as it stands:
the row's image is handed over when the row holds that version or a newer one (a tombstone:
a delete). An absent row was purged once a later delete was compensated, and a row of
another incarnation was deleted and recreated since (those events follow): nothing to do. A
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
from dataclasses import dataclass
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from persistence.reading import current_seq, get_row
from persistence.tables import AppConfigRow
from vocabulary import OP_UPSERT
from worker import pipelinemetrics
from worker.changeevents import Change, row_event
from workflows.contracts import ChangeEvent

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
        beyond = event.seq > await self._sequence_at_least(event.seq, stop=stop)
        if not beyond and not (change.unavailable and event.op == OP_UPSERT):
            return Resolution(event)
        row = await self._row(event.key, stop=stop)
        if beyond:
            return self._beyond_sequence(change, row)
        return self._incomplete(change, row)

    async def _sequence_at_least(self, seq: int, *, stop: asyncio.Event) -> int:
        """The change sequence's high-water mark, re-read only when ``seq`` exceeds it."""
        if seq > self._high_water:
            async with self._lock:  # partitions of one batch share one read
                if seq > self._high_water:
                    value = await self._read(lambda: current_seq(self.engine), stop=stop)
                    self._high_water = max(self._high_water, value)
        return self._high_water

    def _beyond_sequence(self, change: Change, row: AppConfigRow | None) -> Resolution:
        event = change.event
        beyond = f"seq {event.seq} is beyond the change sequence ({self._high_water})"
        if row is None:
            return Resolution(None, dead_letter=f"{beyond} and no row backs {event.key}")
        if not same_incarnation(change, row):
            return Resolution(None, dead_letter=f"{beyond} and names another uid than the row")
        logger.warning("%s: %s; handing over the row's v%d", event.key, beyond, row.seq)
        pipelinemetrics.EVENTS_RESOLVED.labels(reason="beyond-sequence").inc()
        return Resolution(row_event(row))

    def _incomplete(self, change: Change, row: AppConfigRow | None) -> Resolution:
        event = change.event
        if row is None:
            return Resolution(None)  # purged after its delete was compensated
        if row.seq < event.seq:
            return Resolution(
                None, dead_letter=f"the row of {event.key} is at v{row.seq}, never at v{event.seq}"
            )
        if not same_incarnation(change, row):
            return Resolution(None)  # deleted and recreated since: those events follow
        logger.info(
            "%s: %s unavailable in the image of v%d; handing over the row's v%d",
            event.key,
            ", ".join(change.unavailable),
            event.seq,
            row.seq,
        )
        pipelinemetrics.EVENTS_RESOLVED.labels(reason="unavailable-columns").inc()
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


def same_incarnation(change: Change, row: AppConfigRow) -> bool:
    """Whether ``row`` is the incarnation ``change`` names (any, when it names none). The row
    of a later incarnation must not stand in for the event: handed over, its version would
    make the workflow drop the delete that ended this incarnation, still queued behind."""
    return not change.uid or change.uid == row.uid
