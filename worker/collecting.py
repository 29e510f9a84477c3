"""Orphan collection: remove managed objects that no row backs, periodically, in the worker.

A row always precedes its objects, so a managed CR or a Git file under ``appconfigs/`` whose
key has no row is an orphan: a zombie attempt's late write after the delete was compensated
and the tombstone purged, or a hand-made object. A tombstoned key's objects are not orphans:
its workflow is compensating them. An orphan is removed once it has been found, at the same
version, for at least ``grace_s`` (so a read racing a create or a recreate never removes
anything), through ``prune``: fenced on that version and only if the row is still absent.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from sqlalchemy import Engine

from gitops.repository import GitRepository
from worker.helperloops import run_every
from worker.metrics import ORPHANS_REMOVED
from worker.orphans import Orphan, prune, prune_plan

logger = logging.getLogger(__name__)


class OrphanCollection:
    """Collects orphans of the targets it is given (``kube`` and/or ``repo``)."""

    def __init__(
        self,
        *,
        engine: Engine,
        kube: Any | None,
        repo: GitRepository | None,
        grace_s: float,
        propagation_policy: str = "Background",
    ) -> None:
        self.engine = engine
        self.kube = kube
        self.repo = repo
        self.grace_s = grace_s
        self.propagation_policy = propagation_policy
        #: When each orphan (kind, key, version) was first found; forgotten once gone.
        self._found: dict[Orphan, float] = {}

    async def collect(self) -> list[Orphan]:
        """One pass: find the orphans, remove those found at least ``grace_s`` ago."""
        plan = await prune_plan(
            engine=self.engine, kube=self.kube, repo=self.repo, keep_tombstoned=True
        )
        now = time.monotonic()
        self._found = {orphan: self._found.get(orphan, now) for orphan in plan}
        due = [o for o, found in self._found.items() if now - found >= self.grace_s]
        removed = await prune(
            due,
            engine=self.engine,
            kube=self.kube,
            repo=self.repo,
            propagation_policy=self.propagation_policy,
            keep_tombstoned=True,
        )
        for orphan in removed:
            ORPHANS_REMOVED.labels(kind=orphan.kind).inc()
            logger.warning("removed orphan %s %s @ %d", orphan.kind, orphan.key, orphan.version)
        return removed

    async def run(self, *, interval_s: float, stop: asyncio.Event) -> None:
        """A pass every ``interval_s`` until ``stop``; a failing pass raises (supervised)."""

        async def one_pass() -> None:
            await self.collect()

        await run_every(interval_s, one_pass, stop=stop)
