"""Orphans: managed objects that no row backs, found, pruned, and collected periodically.

``prune_plan`` finds, on every target, what no live row backs there: CRs labelled managed-by
rendersync in each cluster, and the files of each Git target's layout. ``prune`` deletes
them, each fenced on the version it was planned at (an object re-applied since, at a newer
version, is kept) and only if the row still does not back it (``rendersync resync --prune``
runs both once).

Orphan collection (:class:`OrphanCollection`) runs them periodically in the worker. A row
always precedes its objects, so a managed object whose key has no row is an orphan: a zombie
attempt's late write after the delete was compensated and the tombstone purged, or a
hand-made object. So is an object of a live row at a target (or, in a Git target placing keys
by environment, a place) the row's routing no longer names, once the row's version is applied
on every target it routes to: the move is done and this copy was missed (its target was down
when the key left it). Before that the copy is the key's last good one and is kept. A
tombstoned key's objects are not orphans: its workflow is compensating them. An orphan is
removed once it has been found, at the same version, for at least ``grace_s`` (so a read
racing a create or a recreate never removes anything), through ``prune``: fenced on that
version and only if the row still does not back it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from activities.git import GitPlace
from activities.kubernetes import Cluster
from gitops.files import file_version
from k8s.applying import delete_appconfig
from k8s.manifests import version_of
from k8s.watching import list_appconfigs
from persistence.reading import all_rows, get_row
from persistence.syncstatus import list_status
from persistence.tables import AppConfigRow
from vocabulary.routing import environment_of
from worker.helperloops import run_every
from worker.pipelinemetrics import ORPHANS_REMOVED
from workflows.contracts import SyncOptions

logger = logging.getLogger(__name__)

KIND_CR = "cr"
KIND_GIT = "git"


@dataclass(frozen=True)
class Orphan:
    """A managed object (``kind`` cr or git) at ``target`` that no live row backs there, at
    ``version`` (0: the object carries no readable version); ``path``: a Git file's."""

    target: str
    kind: str
    namespace: str
    name: str
    version: int
    path: str = ""

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


async def managed_crs(api: Any, *, namespace: str | None = None) -> list[dict[str, Any]]:
    """Every AppConfig labelled managed-by rendersync (in ``namespace``, or all)."""
    return await list_appconfigs(api, namespace=namespace)


def git_files(target: str, place: GitPlace, *, namespace: str | None = None) -> list[Orphan]:
    """Every file of the Git target ``target`` in its clone, as (unchecked) candidates."""
    workdir = place.repo.workdir
    found = []
    for path in place.layout.files(workdir):
        key = place.layout.key_of(path)
        assert key is not None  # files() lists only the layout's files
        ns, name, _ = key
        if namespace is None or ns == namespace:
            version = file_version(workdir / path) or 0
            found.append(Orphan(target, KIND_GIT, ns, name, version, path))
    return found


@dataclass(frozen=True)
class Backing:
    """Which live rows back which objects: the rows, and the status of their targets."""

    rows: dict[tuple[str, str], AppConfigRow]
    applied: dict[tuple[str, str, str], int]
    options: SyncOptions
    places: Mapping[str, GitPlace]
    keep_tombstoned: bool

    def backs(self, orphan: Orphan) -> bool:
        row = self.rows.get((orphan.namespace, orphan.name))
        if row is None:
            return False
        if row.deleted:
            return self.keep_tombstoned
        return backs(row, orphan, self.options, self.places, self.settled(row))

    def settled(self, row: AppConfigRow) -> bool:
        """The row's version is applied on every target it routes to."""
        routed = self.options.route(row) or ()
        return all(self.applied.get((row.namespace, row.name, t), 0) >= row.seq for t in routed)


def backs(
    row: AppConfigRow,
    orphan: Orphan,
    options: SyncOptions,
    places: Mapping[str, GitPlace],
    settled: bool,
) -> bool:
    """Whether the live ``row`` backs ``orphan``: it routes to its target (and place), or
    its move away is not done (``settled`` false: the copy is its last good one)."""
    if not settled:
        return True
    if orphan.target not in (options.route(row) or ()):
        return False
    place = places.get(orphan.target)
    if orphan.kind != KIND_GIT or place is None:
        return True
    return orphan.path == place.layout.file(row.namespace, row.name, environment_of(row))


def _backing(
    engine: Engine,
    namespace: str | None,
    options: SyncOptions,
    places: Mapping[str, GitPlace],
    keep_tombstoned: bool,
    name: str | None = None,
) -> Backing:
    """What backs objects in ``namespace`` (or all), or of the one key ``name`` there."""
    if name is None:
        found = list(all_rows(engine, namespace=namespace))
    else:
        assert namespace is not None
        row = get_row(engine, namespace=namespace, name=name)
        found = [] if row is None else [row]
    rows = {(r.namespace, r.name): r for r in found}
    applied = {
        (s.namespace, s.name, s.target): s.applied_version
        for s in list_status(engine, namespace=namespace)
        if name is None or s.name == name
    }
    return Backing(rows, applied, options, places, keep_tombstoned)


async def prune_plan(
    *,
    engine: Engine,
    clusters: Mapping[str, Cluster],
    places: Mapping[str, GitPlace],
    options: SyncOptions,
    namespace: str | None = None,
    keep_tombstoned: bool = False,
) -> list[Orphan]:
    """The CRs of ``clusters`` and Git files of ``places`` (by target name) that no live row
    backs (see the module; a tombstone's too, when ``keep_tombstoned``: a tombstoned key's
    objects are its workflow's to compensate). Read-only, except that each repository's
    working clone is refreshed from the remote."""
    candidates: list[Orphan] = []
    for target, cluster in clusters.items():
        for cr in await managed_crs(cluster.api, namespace=namespace):
            meta = cr["metadata"]
            candidates.append(
                Orphan(target, KIND_CR, meta["namespace"], meta["name"], version_of(cr))
            )
    refreshed: set[int] = set()
    for target, place in places.items():
        if id(place.repo) not in refreshed:
            await place.repo.ensure_clone()
            refreshed.add(id(place.repo))
        candidates += await asyncio.to_thread(git_files, target, place, namespace=namespace)
    backing = await asyncio.to_thread(_backing, engine, namespace, options, places, keep_tombstoned)
    return [o for o in candidates if not backing.backs(o)]


async def prune(
    orphans: list[Orphan],
    *,
    engine: Engine,
    clusters: Mapping[str, Cluster],
    places: Mapping[str, GitPlace],
    options: SyncOptions,
    keep_tombstoned: bool = False,
) -> list[Orphan]:
    """Delete ``orphans`` (from ``prune_plan``); returns those actually removed.

    Each removal is fenced on the planned version and skipped when the row backs the object
    again (re-read now); both make it safe while the pipeline runs. Idempotent: what is gone
    is skipped.
    """
    removed = []
    for orphan in orphans:
        backing = await asyncio.to_thread(
            _backing, engine, orphan.namespace, options, places, keep_tombstoned, orphan.name
        )
        if backing.backs(orphan):
            logger.info("prune: %s is backed by its row again; kept", orphan.key)
        elif await _remove(orphan, clusters=clusters, places=places):
            removed.append(orphan)
    return removed


async def _remove(
    orphan: Orphan, *, clusters: Mapping[str, Cluster], places: Mapping[str, GitPlace]
) -> bool:
    cluster, place = clusters.get(orphan.target), places.get(orphan.target)
    if orphan.kind == KIND_CR and cluster is not None:
        return await delete_appconfig(
            cluster.api,
            namespace=orphan.namespace,
            name=orphan.name,
            version=orphan.version,
            propagation_policy=cluster.propagation_policy,
        )
    if orphan.kind == KIND_GIT and place is not None:
        result = await place.repo.remove_file(
            path=orphan.path,
            version=orphan.version,
            message=f"rendersync: prune {orphan.key} @ {orphan.version} from {orphan.target}",
            layout=place.layout,
        )
        return result.changed
    return False


class OrphanCollection:
    """Collects the orphans of the targets it is given (``clusters``, ``places``)."""

    def __init__(
        self,
        *,
        engine: Engine,
        clusters: Mapping[str, Cluster],
        places: Mapping[str, GitPlace],
        options: SyncOptions,
        grace_s: float,
    ) -> None:
        self.engine = engine
        self.clusters = clusters
        self.places = places
        self.options = options
        self.grace_s = grace_s
        #: When each orphan (target, kind, key, version) was first found; forgotten once gone.
        self._found: dict[Orphan, float] = {}

    async def collect(self) -> list[Orphan]:
        """One pass: find the orphans, remove those found at least ``grace_s`` ago."""
        clusters, places, options = self.clusters, self.places, self.options
        plan = await prune_plan(
            engine=self.engine,
            clusters=clusters,
            places=places,
            options=options,
            keep_tombstoned=True,
        )
        now = time.monotonic()
        self._found = {orphan: self._found.get(orphan, now) for orphan in plan}
        due = [o for o, found in self._found.items() if now - found >= self.grace_s]
        removed = await prune(
            due,
            engine=self.engine,
            clusters=clusters,
            places=places,
            options=options,
            keep_tombstoned=True,
        )
        for orphan in removed:
            ORPHANS_REMOVED.labels(kind=orphan.kind).inc()
            logger.warning(
                "removed orphan %s %s @ %d from %s",
                orphan.kind,
                orphan.key,
                orphan.version,
                orphan.target,
            )
        return removed

    async def run(self, *, interval_s: float, stop: asyncio.Event) -> None:
        """A pass every ``interval_s`` until ``stop``; a failing pass raises (supervised)."""

        async def one_pass() -> None:
            await self.collect()

        await run_every(interval_s, one_pass, stop=stop)
