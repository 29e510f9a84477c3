"""Anti-entropy: re-drive every key from the database, and prune what the database lost.

``resync_all`` hands each appconfigs row to its key's workflow as a *forced* change event
(a live row as an upsert of its image, a tombstone as a delete), through the bridge's own
signal-with-start path. The workflow re-applies the version it already handled once, so a
target that lost it (a CR deleted by hand, a missing Git file, a lost Kafka message) gets it
back; targets fence on the version, so nothing ever regresses.

``prune_plan`` finds what no live row backs: CRs labelled managed-by rendersync and files
under ``appconfigs/`` in the GitOps repository. ``prune`` deletes them, each fenced on the
version it was planned at (an object re-applied since, at a newer version, is kept) and
only if the row is still absent.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from temporalio.client import Client

from gitops.files import file_version
from gitops.repository import GitRepository
from k8s.applying import delete_appconfig
from k8s.manifests import version_of
from k8s.watching import list_appconfigs
from persistence.reading import all_rows, get_appconfig, get_row
from persistence.tables import AppConfigRow
from vocabulary import GIT_ROOT, git_path
from worker.changeevents import forced_event
from worker.signalling import Signaller
from workflows.contracts import SyncOptions

logger = logging.getLogger(__name__)

#: Signals in flight at once: enough to overlap round trips, few enough for a small server.
_CONCURRENCY = 8
KIND_CR = "cr"
KIND_GIT = "git"


async def resync_all(
    *,
    engine: Engine,
    client: Client,
    task_queue: str,
    options: SyncOptions,
    namespace: str | None = None,
) -> int:
    """Signal-with-start every row's workflow with its forced event; returns how many.

    Idempotent and safe while the pipeline runs: a key whose workflow has a newer version
    ignores the event, one that is busy re-applies after it. The first failed signal raises
    (nothing is lost: a later resync, or the change itself, delivers it).
    """
    signaller = Signaller(client, task_queue=task_queue, options=options)
    rows = await asyncio.to_thread(lambda: list(all_rows(engine, namespace=namespace)))
    limit = asyncio.Semaphore(_CONCURRENCY)

    async def send(row: AppConfigRow) -> None:
        async with limit:
            event = forced_event(row)
            await signaller.signal_with_start(event)
            logger.info("resync: %s v%d %s sent", event.key, event.seq, event.op)

    await asyncio.gather(*(send(row) for row in rows))
    return len(rows)


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
