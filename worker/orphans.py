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
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from sqlalchemy import Engine

from activities.git import GitPlace
from activities.kubernetes import Cluster
from gitops.files import file_version
from k8s.applying import delete_appconfig
from k8s.manifests import version_of
from k8s.watching import appconfig_pages
from persistence.reading import all_rows, get_row
from persistence.syncstatus import applied_versions
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


async def managed_crs(
    target: str, cluster: Cluster, *, namespace: str | None = None
) -> list[Orphan]:
    """Every AppConfig labelled managed-by rendersync in the cluster of the Kubernetes target
    ``target`` (in ``namespace``, or all), as (unchecked) candidates. Read a page at a time,
    keeping only each object's key and version."""
    found = []
    async for page in appconfig_pages(cluster.api, namespace=namespace):
        for cr in page:
            meta = cr["metadata"]
            found.append(Orphan(target, KIND_CR, meta["namespace"], meta["name"], version_of(cr)))
    return found


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


#: Where a live row's objects belong: (target, the key's file there when the target is a Git
#: target, else "") for each target it routes to.
Places = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Backing:
    """Which keys' rows back which objects: ``None`` backs every object of the key (a row
    whose move is not done; a tombstone whose workflow compensates them), else the places
    its objects belong (``places_of``). A key without an entry has no row that backs
    anything. Holds no row: a pass over 10,000 keys keeps a few hundred bytes per key,
    not their rendered configs."""

    keys: dict[tuple[str, str], Places | None]

    def backs(self, orphan: Orphan) -> bool:
        key = (orphan.namespace, orphan.name)
        if key not in self.keys:
            return False
        places = self.keys[key]
        if places is None:
            return True
        return any(
            orphan.target == target and (orphan.kind != KIND_GIT or not path or orphan.path == path)
            for target, path in places
        )


def places_of(row: AppConfigRow, routed: Iterable[str], places: Mapping[str, GitPlace]) -> Places:
    """Where the objects of the live ``row`` belong: the targets ``routed`` (those it routes
    to) and, in each Git target, its file there."""
    environment = environment_of(row)
    return tuple(
        (t, "" if t not in places else places[t].layout.file(row.namespace, row.name, environment))
        for t in routed
    )


def _backing(
    engine: Engine,
    namespace: str | None,
    options: SyncOptions,
    places: Mapping[str, GitPlace],
    keep_tombstoned: bool,
    name: str | None = None,
) -> Backing:
    """What backs objects in ``namespace`` (or all), or of the one key ``name`` there. The
    rows are read in chunks (``all_rows``) and each is kept as where its objects belong.
    The statuses are read first: a row that moves on in between reads as not settled, which
    keeps every object of its key."""
    applied = applied_versions(engine, namespace=namespace, name=name)
    if name is None:
        rows: Iterable[AppConfigRow] = all_rows(engine, namespace=namespace)
    else:
        assert namespace is not None
        row = get_row(engine, namespace=namespace, name=name)
        rows = [] if row is None else [row]
    keys: dict[tuple[str, str], Places | None] = {}
    for row in rows:
        if row.deleted:
            if keep_tombstoned:
                keys[(row.namespace, row.name)] = None
            continue
        routed = options.route(row) or ()
        # Until its version is applied on every target it routes to, the key's move is not
        # done and a copy it left elsewhere is its last good one: every object is backed.
        settled = all(applied.get((row.namespace, row.name, t), 0) >= row.seq for t in routed)
        keys[(row.namespace, row.name)] = places_of(row, routed, places) if settled else None
    return Backing(keys)


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
        candidates += await managed_crs(target, cluster, namespace=namespace)
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
