"""Anti-entropy: re-drive keys from the database, so targets that lost a change get it back.

``resync_all`` hands each appconfigs row to its key's workflow as a *forced* change event
(a live row as an upsert of its image, a tombstone as a delete), through the bridge's own
signal-with-start path (``rendersync resync`` runs it once). The workflow re-applies the
version it already handled once, so a target that lost it (a CR deleted by hand, a missing
Git file, a lost Kafka message) gets it back; targets fence on the version, so nothing ever
regresses.

Periodic anti-entropy (:func:`run_anti_entropy`, in the worker): a change whose event never
reached its workflow (a lost Kafka message, a relay that published to a topic that was later
lost) leaves the sync status behind the row's version. Every pass re-drives, with a catch-up
event (forced, but dropped by a key that has that version in hand: ``ChangeEvent.catch_up``),
each key whose configured targets have not reported its current version for longer than
``grace_s``, and each tombstone whose compensation has not finished. Converged keys cost one
read, nothing more. A key whose change is only waiting its turn in a backlog is left alone:
while a target's newest applied version keeps moving from one pass to the next, a row it lacks
counts only once the target applied a change committed ``grace_s`` after it; once the newest
version stands still for a pass, every row it lacks over ``grace_s`` counts (see
``persistence.reading.lagging_rows``).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Callable, Sequence

from sqlalchemy import Engine
from temporalio.client import Client

from persistence.reading import all_rows, applied_progress, lagging_rows
from persistence.tables import AppConfigRow
from worker.changeevents import catch_up_event, forced_event
from worker.helperloops import run_every
from worker.signalling import Signaller
from workflows.contracts import SyncOptions

logger = logging.getLogger(__name__)

#: Signals in flight at once: enough to overlap round trips, few enough for a small server.
_CONCURRENCY = 8


async def resync_all(
    *,
    engine: Engine,
    client: Client,
    task_queue: str,
    options: SyncOptions,
    namespace: str | None = None,
    only: Callable[[AppConfigRow], bool] | None = None,
) -> int:
    """Signal-with-start every row's workflow (of the rows ``only`` keeps, given) with its
    forced event; returns how many.

    Idempotent and safe while the pipeline runs: a key whose workflow has a newer version
    ignores the event, one that is busy re-applies after it. The first failed signal raises
    (nothing is lost: a later resync, or the change itself, delivers it).
    """
    signaller = Signaller(client, task_queue=task_queue, options=options)
    rows = await asyncio.to_thread(
        lambda: [r for r in all_rows(engine, namespace=namespace) if only is None or only(r)]
    )
    limit = asyncio.Semaphore(_CONCURRENCY)

    async def send(row: AppConfigRow) -> None:
        async with limit:
            event = forced_event(row)
            await signaller.signal_with_start(event)
            logger.info("resync: %s v%d %s sent", event.key, event.seq, event.op)

    await asyncio.gather(*(send(row) for row in rows))
    return len(rows)


async def run_anti_entropy(
    *,
    engine: Engine,
    signaller: Signaller,
    options: SyncOptions,
    interval_s: float,
    grace_s: float = 60.0,
    stop: asyncio.Event,
) -> None:
    """Every ``interval_s`` until ``stop``: re-drive the lagging keys (behind on a target
    ``options`` route them to). A failing pass raises (the worker supervises this loop: see
    ``worker.helperloops``)."""

    def routed(row: AppConfigRow) -> Sequence[str]:
        return options.route(row) or ()

    # A target whose newest applied version moved since the previous look is working
    # through a backlog; re-applying versions it already holds (drift repair, a key retrying)
    # moves nothing, so no such work can keep a lost change from being re-driven.
    progress = await asyncio.to_thread(applied_progress, engine)

    async def one_pass() -> None:
        nonlocal progress
        now = await asyncio.to_thread(applied_progress, engine)
        advancing = {t: v for t, v in now.items() if v > progress.get(t, 0)}
        progress = now
        rows = await asyncio.to_thread(
            functools.partial(
                lagging_rows, engine, targets=routed, grace_s=grace_s, advancing=advancing
            )
        )
        for row in rows:
            await signaller.deliver(catch_up_event(row), stop=stop)
        if rows:
            logger.info("anti-entropy re-drove %d lagging keys", len(rows))

    await run_every(interval_s, one_pass, stop=stop)
