"""Orphans: managed objects that no row backs, found, pruned, and collected periodically.

``prune_plan`` finds what no live row backs: CRs labelled managed-by rendersync and files
under ``appconfigs/`` in the GitOps repository. ``prune`` deletes them, each fenced on the
version it was planned at (an object re-applied since, at a newer version, is kept) and
only if the row is still absent (``rendersync resync --prune`` runs both once).

Orphan collection (:class:`OrphanCollection`) runs them periodically in the worker. A row
always precedes its objects, so a managed CR or a Git file under ``appconfigs/`` whose key
has no row is an orphan: a zombie attempt's late write after the delete was compensated and
the tombstone purged, or a hand-made object. A tombstoned key's objects are not orphans: its
workflow is compensating them. An orphan is removed once it has been found, at the same
version, for at least ``grace_s`` (so a read racing a create or a recreate never removes
anything), through ``prune``: fenced on that version and only if the row is still absent.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from gitops.files import file_version
from gitops.repository import GitRepository
from k8s.applying import delete_appconfig
from k8s.manifests import version_of
from k8s.watching import list_appconfigs
from persistence.reading import all_rows, get_appconfig, get_row
from vocabulary import GIT_ROOT, git_path
from worker.helperloops import run_every
from worker.pipelinemetrics import ORPHANS_REMOVED

logger = logging.getLogger(__name__)

KIND_CR = "cr"
KIND_GIT = "git"


@dataclass(frozen=True)
class Orphan:
    """A managed object (``kind`` cr or git) that no live row backs, at ``version``
    (0: the object carries no readable version)."""

    kind: str
    namespace: str
    name: str
    version: int

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


async def managed_crs(api: Any, *, namespace: str | None = None) -> list[dict[str, Any]]:
    """Every AppConfig labelled managed-by rendersync (in ``namespace``, or all)."""
    return await list_appconfigs(api, namespace=namespace)


def git_files(workdir: Path, *, namespace: str | None = None) -> list[Orphan]:
    """Every ``appconfigs/{namespace}/{name}.yaml`` in a clone, as (unchecked) candidates."""
    found = []
    for path in sorted((workdir / GIT_ROOT).glob("*/*.yaml")):
        ns, name = path.parent.name, path.stem
        if namespace is None or ns == namespace:
            found.append(Orphan(KIND_GIT, ns, name, file_version(path) or 0))
    return found


def _backed_keys(
    engine: Engine, namespace: str | None, keep_tombstoned: bool
) -> set[tuple[str, str]]:
    return {
        (r.namespace, r.name)
        for r in all_rows(engine, namespace=namespace)
        if keep_tombstoned or not r.deleted
    }


async def prune_plan(
    *,
    engine: Engine,
    kube: Any | None,
    repo: GitRepository | None,
    namespace: str | None = None,
    keep_tombstoned: bool = False,
) -> list[Orphan]:
    """CRs (when ``kube``) and Git files (when ``repo``) without a live row (without any
    row, tombstones included, when ``keep_tombstoned``: a tombstoned key's objects are its
    workflow's to compensate). Read-only, except that ``repo``'s working clone is refreshed
    from the remote."""
    live = await asyncio.to_thread(_backed_keys, engine, namespace, keep_tombstoned)
    candidates: list[Orphan] = []
    if kube is not None:
        for cr in await managed_crs(kube, namespace=namespace):
            meta = cr["metadata"]
            candidates.append(Orphan(KIND_CR, meta["namespace"], meta["name"], version_of(cr)))
    if repo is not None:
        await repo.ensure_clone()
        candidates += await asyncio.to_thread(git_files, repo.workdir, namespace=namespace)
    return [o for o in candidates if (o.namespace, o.name) not in live]


async def prune(
    orphans: list[Orphan],
    *,
    engine: Engine,
    kube: Any | None,
    repo: GitRepository | None,
    propagation_policy: str = "Background",
    keep_tombstoned: bool = False,
) -> list[Orphan]:
    """Delete ``orphans`` (from ``prune_plan``); returns those actually removed.

    Each removal is fenced on the planned version and skipped when the key has a live row
    again (any row, when ``keep_tombstoned``); both make it safe while the pipeline runs.
    Idempotent: what is gone is skipped.
    """
    backing = get_row if keep_tombstoned else get_appconfig
    removed = []
    for orphan in orphans:
        live = await asyncio.to_thread(
            backing, engine, namespace=orphan.namespace, name=orphan.name
        )
        if live is not None:
            logger.info("prune: %s has a live row again; kept", orphan.key)
        elif await _remove(orphan, kube=kube, repo=repo, propagation_policy=propagation_policy):
            removed.append(orphan)
    return removed


async def _remove(
    orphan: Orphan, *, kube: Any | None, repo: GitRepository | None, propagation_policy: str
) -> bool:
    if orphan.kind == KIND_CR and kube is not None:
        return await delete_appconfig(
            kube,
            namespace=orphan.namespace,
            name=orphan.name,
            version=orphan.version,
            propagation_policy=propagation_policy,
        )
    if orphan.kind == KIND_GIT and repo is not None:
        result = await repo.remove_file(
            path=git_path(orphan.namespace, orphan.name),
            version=orphan.version,
            message=f"rendersync: prune {orphan.key} @ {orphan.version}",
        )
        return result.changed
    return False


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
