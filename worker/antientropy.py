"""Periodic anti-entropy: re-drive keys whose targets lag behind the database.

A change whose event never reached its workflow (a lost Kafka message, a relay that
published to a topic that was later lost) leaves the sync status behind the row's version.
Every pass re-drives, with a forced event, each key whose configured targets have not
reported its current version for longer than ``grace_s``, and each tombstone whose
compensation has not finished. Converged keys cost one read, nothing more.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from sqlalchemy import Engine

from persistence.reading import lagging_rows
from worker.changeevents import forced_event
from worker.helperloops import run_every
from worker.signalling import Signaller

logger = logging.getLogger(__name__)


async def run_anti_entropy(
    *,
    engine: Engine,
    signaller: Signaller,
    targets: Sequence[str],
    interval_s: float,
    grace_s: float = 60.0,
    stop: asyncio.Event,
) -> None:
    """Every ``interval_s`` until ``stop``: re-drive the lagging keys. A failing pass raises
    (the worker supervises this loop: see ``worker.helperloops``)."""

    async def one_pass() -> None:
        rows = await asyncio.to_thread(lagging_rows, engine, targets=targets, grace_s=grace_s)
        for row in rows:
            await signaller.deliver(forced_event(row), stop=stop)
        if rows:
            logger.info("anti-entropy re-drove %d lagging keys", len(rows))

    await run_every(interval_s, one_pass, stop=stop)
