"""One change feed per API process: which AppConfigs changed, rendered once, fanned out to
every open watch stream.

It runs only while someone watches. It wakes when the API's own writes poke it (at once) or
after ``interval_s``, and then asks the database one cheap question (``changes``: rows past
the cursor ``seq``, status rows stamped since the last one seen) — one probe per process
per interval whatever the number of watchers, and nothing read when nothing changed. That
is how status reports written by the worker process reach the API process: through the
database they share, at most ``interval_s`` late; SQLite has no cross-process notification
and the feed must work on both databases.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine

from persistence import changes as probe
from persistence.changes import Cursor, Key, StatusPrint

logger = logging.getLogger(__name__)

OVERLAP = timedelta(seconds=5)
QUEUE_SIZE = 256


@dataclass(frozen=True)
class Change:
    """``obj`` is the AppConfig as the API renders it (with status), None once purged."""

    namespace: str
    name: str
    obj: dict[str, Any] | None


Renderer = Callable[[str, str], dict[str, Any] | None]


class ChangeFeed:
    def __init__(self, engine: Engine, render: Renderer, *, interval_s: float = 1.0) -> None:
        self.engine = engine
        self.render = render
        self.interval_s = interval_s
        self._queues: set[asyncio.Queue[list[Change] | None]] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._seen: dict[tuple[str, str, str], StatusPrint] = {}
        self._tombstones: set[Key] = set()

    def poke(self) -> None:
        """Look now: the API just wrote."""
        self._wake.set()

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[list[Change] | None]]:
        """A queue of change batches; None in it means the watcher overflowed."""
        queue: asyncio.Queue[list[Change] | None] = asyncio.Queue(QUEUE_SIZE)
        self._queues.add(queue)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="console-changefeed")
        try:
            yield queue
        finally:
            self._queues.discard(queue)
            if not self._queues and self._task is not None:
                self._task.cancel()
                self._task = None

    async def _run(self) -> None:
        cursor, self._tombstones = await run_in_threadpool(probe.start_cursor, self.engine)
        self._seen.clear()
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval_s)
            self._wake.clear()
            try:
                cursor, batch = await run_in_threadpool(self._step, cursor)
            except Exception as err:  # a database hiccup: the next probe tries again
                logger.warning("change feed probe failed (%s)", type(err).__name__)
                continue
            if batch:
                self._publish(batch)

    def _step(self, cursor: Cursor) -> tuple[Cursor, list[Change]]:
        found = probe.changes_since(
            self.engine, cursor, overlap=OVERLAP, tombstones=set(self._tombstones)
        )
        keys: set[Key] = set(found.written) | found.purged
        for key, tomb in found.written.items():
            (self._tombstones.add if tomb else self._tombstones.discard)(key)
        self._tombstones -= found.purged
        for target_key, printed in found.statuses.items():
            if self._seen.get(target_key) != printed:
                self._seen[target_key] = printed
                keys.add(target_key[:2])
        if found.cursor.status_at is not None:  # forget what the overlap no longer re-reads
            horizon = found.cursor.status_at - OVERLAP
            self._seen = {k: v for k, v in self._seen.items() if v[-1] > horizon}
        batch = [Change(ns, name, self.render(ns, name)) for ns, name in sorted(keys)]
        return found.cursor, batch

    def _publish(self, batch: list[Change]) -> None:
        for queue in list(self._queues):
            try:
                queue.put_nowait(batch)
            except asyncio.QueueFull:
                self._queues.discard(queue)
                with contextlib.suppress(asyncio.QueueFull):
                    queue.get_nowait()
                    queue.put_nowait(None)
