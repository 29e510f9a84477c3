"""Drift repair: re-apply AppConfig custom resources edited or deleted by hand.

Watches the managed CRs. The row decides: a CR of a live row is drift, and the key's workflow
gets a forced change event to re-apply the row's version (fenced and idempotent), when

- it vanished;
- its ``rendersync.dev/version`` is above the row's (a forged annotation would otherwise
  fence every later apply out), absent, or a version this key never had;
- its content differs from what its version renders: the row at the row's version, the
  revision at an older version (the revisions table holds every version).

A CR at an older version that matches its own revision is left alone: its sync is under way.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from sqlalchemy import Engine

from k8s.manifests import holds_rendered, render_appconfig, version_of
from k8s.ownwrites import OwnWrites
from k8s.watching import WatchEvent, watch_appconfigs
from persistence.reading import get_row, revision_at
from persistence.tables import AppConfigRow, Revision
from vocabulary import TARGET_KUBERNETES
from worker.changeevents import forced_event
from worker.pipelinemetrics import DRIFT_EVENTS
from worker.signalling import Signaller
from workflows.contracts import SyncOptions

logger = logging.getLogger(__name__)

#: A key is re-driven at most once per version and kind of drift (edited, deleted) in this
#: many seconds, so a difference the server keeps reintroducing cannot cause a repair loop.
REPAIR_COOLDOWN_S = 30.0


def _matches(source: AppConfigRow | Revision, live: dict[str, Any]) -> bool:
    """Whether ``live`` holds what ``source`` (a row, or a revision of the key) renders."""
    want = render_appconfig(
        namespace=source.namespace,
        name=source.name,
        spec=source.spec,
        labels=source.labels,
        annotations=source.annotations,
        seq=source.seq,
    )
    return holds_rendered(want, live)


def drifted_row(
    engine: Engine, event: WatchEvent, *, target: str, options: SyncOptions
) -> AppConfigRow | None:
    """The row to re-apply if ``event`` (on the cluster of ``target``) shows drift from the
    database, else None."""
    namespace, name = event.key
    row = get_row(engine, namespace=namespace, name=name)
    if row is None or row.deleted:
        return None  # an orphan (orphan collection removes it) or a delete under way
    if target not in (options.route(row) or ()):
        return None  # the row is not routed here: its sync moves it away, or it is an orphan
    if event.type == "DELETED":
        return row
    version = version_of(event.object)
    if version == row.seq:
        return None if _matches(row, event.object) else row
    if version > row.seq or version == 0:
        return row  # a forged or removed version annotation
    revision = revision_at(engine, namespace=row.namespace, name=row.name, seq=version)
    if revision is not None and _matches(revision, event.object):
        return None  # an older version as it was rendered: the sync of the row is under way
    return row


class DriftRepair:
    """Watches the cluster of one Kubernetes target (``target``)."""

    def __init__(
        self,
        *,
        api: Any,
        engine: Engine,
        signaller: Signaller,
        target: str = TARGET_KUBERNETES,
        options: SyncOptions | None = None,
        own_writes: OwnWrites | None = None,
    ) -> None:
        self.api = api
        #: What this process's activities wrote to the cluster: their events are not drift.
        self.own_writes = own_writes or OwnWrites()
        self.engine = engine
        self.signaller = signaller
        self.target = target
        self.options = options or SyncOptions()
        self._repaired: dict[tuple[str, str, int, bool], float] = {}

    async def run(self, stop: asyncio.Event) -> None:
        """Watch until ``stop``; transient watch failures are retried by the watcher."""
        watch = asyncio.create_task(self._watch(stop))
        stopped = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait({watch, stopped}, return_when=asyncio.FIRST_COMPLETED)
        for task in (watch, stopped):
            task.cancel()
        await asyncio.gather(watch, stopped, return_exceptions=True)
        if watch in done:
            watch.result()  # re-raises a permanent watch failure (no CRD, forbidden)

    async def _watch(self, stop: asyncio.Event) -> None:
        async for event in watch_appconfigs(self.api):
            if event.type != "DELETED" and self.own_writes.seen(event.object):
                DRIFT_EVENTS.labels(self.target, "own").inc()
                continue
            row = await asyncio.to_thread(
                drifted_row, self.engine, event, target=self.target, options=self.options
            )
            DRIFT_EVENTS.labels(self.target, "checked" if row is None else "drift").inc()
            if row is not None and self._due(row, event.type):
                logger.warning(
                    "drift on %s/%s (%s); re-applying v%d",
                    row.namespace,
                    row.name,
                    event.type,
                    row.seq,
                )
                await self.signaller.deliver(forced_event(row), stop=stop)

    def _due(self, row: AppConfigRow, kind: str) -> bool:
        key = (row.namespace, row.name, row.seq, kind == "DELETED")
        now = time.monotonic()
        if now - self._repaired.get(key, -REPAIR_COOLDOWN_S) < REPAIR_COOLDOWN_S:
            return False
        self._repaired = {k: t for k, t in self._repaired.items() if now - t < REPAIR_COOLDOWN_S}
        self._repaired[key] = now
        return True
