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
from datetime import timedelta

from sqlalchemy import Engine, select
from sqlmodel import Session, col

from persistence.tables import AppConfigRow, SyncStatusRow
from persistence.writing import utcnow
from worker.resyncing import forced_event
from worker.signalling import Signaller
from worker.supervising import run_every

logger = logging.getLogger(__name__)


def lagging_rows(engine: Engine, *, targets: Sequence[str], grace_s: float) -> list[AppConfigRow]:
    """Rows last written over ``grace_s`` ago that some target has not caught up with.

    A key whose sync failed *at the row's version* is left out: it waits for a fix and
    `syncs replay`, and re-driving it would change nothing. A failure at an older version
    excuses nothing: the row moved on (its event may have been lost), so the key is lagging;
    and once a failure is cleared the key is lagging again until every target holds the row.
    """
    cutoff = utcnow() - timedelta(seconds=grace_s)
    with Session(engine) as session:
        rows = list(
            session.execute(
                select(AppConfigRow).where(col(AppConfigRow.updated_at) < cutoff)
            ).scalars()
        )
        statuses = list(session.execute(select(SyncStatusRow)).scalars())
    applied = {(s.namespace, s.name, s.target): s.applied_version for s in statuses}
    failed: dict[tuple[str, str], int] = {}
    for s in statuses:
        key = (s.namespace, s.name)
        failed[key] = max(failed.get(key, 0), s.failed_version)
    return [
        row
        for row in rows
        if failed.get((row.namespace, row.name), 0) < row.seq
        and (
            row.deleted
            or any(applied.get((row.namespace, row.name, t), 0) < row.seq for t in targets)
        )
    ]


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
    (the worker supervises this loop: see ``worker.supervising``)."""

    async def one_pass() -> None:
        rows = await asyncio.to_thread(lagging_rows, engine, targets=targets, grace_s=grace_s)
        for row in rows:
            await signaller.deliver(forced_event(row), stop=stop)
        if rows:
            logger.info("anti-entropy re-drove %d lagging keys", len(rows))

    await run_every(interval_s, one_pass, stop=stop)
