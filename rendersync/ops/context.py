"""What an operations command works with: the settings, the database, Temporal and targets.

Built from one Settings object (the environment's, or the dev stack's recorded in a state
directory). Unlike the long-running processes, a command does not wait for Temporal to come
up: it fails with a one-line :class:`OpsError` after a short timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from temporalio.client import Client

from persistence.tables import AppConfigRow
from rendersync.settings import Settings
from rendersync.statedir import settings_for
from rendersync.wiring import TargetConfigError, clusters_of, engine_from, places_of, sync_options
from workflows.contracts import SyncOptions

if TYPE_CHECKING:
    from activities.git import GitPlace
    from activities.kubernetes import Cluster

CONNECT_TIMEOUT_S = 10.0


class OpsError(Exception):
    """A failure reported to the user as one line (exit status 2)."""


def resolve_settings(state_dir: Path | None, settings: Settings) -> Settings:
    """``settings`` (from the environment), or the dev stack's in ``state_dir``."""
    if state_dir is None:
        return settings
    try:
        return settings_for(state_dir)
    except FileNotFoundError as err:
        raise OpsError(str(err)) from err


@dataclass
class Ops:
    """Clients of one command run; the database and Temporal are connected on first use."""

    settings: Settings
    _engine: Engine | None = field(default=None, repr=False)
    _client: Client | None = field(default=None, repr=False)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = engine_from(self.settings)
        return self._engine

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()

    @functools.cached_property
    def options(self) -> SyncOptions:
        return sync_options(self.settings)

    @property
    def task_queue(self) -> str:
        return self.settings.temporal.task_queue

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(self.settings.configured_targets())

    def known_target(self, name: str) -> str:
        """``name`` when it is a configured target; else OpsError naming the known ones."""
        if name not in self.targets:
            known = ", ".join(self.targets) or "none"
            raise OpsError(f"unknown target {name!r}; known targets: {known}")
        return name

    def routes_to(self, row: AppConfigRow, target: str | None) -> bool:
        """Whether the routing of ``row`` names ``target`` (None: any target, always true).
        A tombstone is judged by the image it was deleted with."""
        return target is None or target in (self.options.route(row) or ())

    async def client(self) -> Client:
        if self._client is None:
            temporal = self.settings.temporal
            try:
                self._client = await asyncio.wait_for(
                    Client.connect(temporal.address, namespace=temporal.namespace),
                    CONNECT_TIMEOUT_S,
                )
            except Exception as err:
                raise OpsError(f"cannot reach Temporal at {temporal.address}: {err}") from err
        return self._client

    @contextlib.asynccontextmanager
    async def clusters(self, only: str | None = None) -> AsyncIterator[dict[str, Cluster]]:
        """An API client for each Kubernetes target (or only for the target ``only``), by
        target name."""
        try:
            clusters = await clusters_of(self.settings)
        except TargetConfigError as err:
            raise OpsError(str(err)) from err
        try:
            yield {n: c for n, c in clusters.items() if only is None or n == only}
        finally:
            for cluster in clusters.values():
                await cluster.api.close()

    @contextlib.asynccontextmanager
    async def scratch_places(self, only: str | None = None) -> AsyncIterator[dict[str, GitPlace]]:
        """Each Git target (or only the target ``only``) on a throw-away clone of its branch
        (never the worker's working clone), by target name."""
        with tempfile.TemporaryDirectory(prefix="rendersync-ops-") as workdir:
            places = places_of(self.settings, scratch=Path(workdir))
            yield {n: p for n, p in places.items() if only is None or n == only}


@contextlib.asynccontextmanager
async def opened(settings: Settings) -> AsyncIterator[Ops]:
    ops = Ops(settings=settings)
    try:
        yield ops
    finally:
        ops.close()
