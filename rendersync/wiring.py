"""Builds the clients and options each process needs from the one Settings object."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gitops.layout import GitLayout
from persistence.db import make_engine
from rendersync.settings import GitTargetSettings, KubernetesTargetSettings, Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from temporalio.client import Client

    from activities.git import GitPlace
    from activities.kubernetes import Cluster
    from activities.webhooks import NotifyConfig
    from api.web.previewing import PreviewTargets
    from workflows.contracts import SyncOptions

logger = logging.getLogger(__name__)


def engine_from(settings: Settings) -> Engine:
    return make_engine(
        settings.db.url, echo=settings.db.echo, busy_timeout_ms=settings.db.sqlite_busy_timeout_ms
    )


def preview_targets(settings: Settings) -> PreviewTargets:
    """The API's clients for previews, one per configured target: each Kubernetes target's
    cluster (its kubeconfig and context, the worker's field manager) and each Git target's
    remote (read only, at the target's path layout). Nothing connects here; a preview that
    cannot reach one says so."""
    from api.web.previewing import PreviewTargets
    from k8s.dryrun import ClusterDryRun
    from rendersync.gittip import GitTipReader

    clusters: dict[str, ClusterDryRun] = {}
    tips: dict[str, GitTipReader] = {}
    for name, target in settings.configured_targets().items():
        if isinstance(target, KubernetesTargetSettings):
            clusters[name] = ClusterDryRun(
                kubeconfig=target.kubeconfig,
                context=target.context,
                field_manager=target.field_manager,
                request_timeout_s=target.request_timeout_s,
            )
        else:
            tips[name] = GitTipReader(
                remote=target.remote,
                branch=target.branch,
                layout=GitLayout(target.path, target.kustomization),
            )
    return PreviewTargets(clusters=clusters, tips=tips)


class TargetConfigError(Exception):
    """A target this process cannot reach as configured (an unreadable kubeconfig context)."""


async def clusters_of(settings: Settings) -> dict[str, Cluster]:
    """An API client for each Kubernetes target; TargetConfigError naming the first target
    whose kubeconfig or context cannot be read."""
    from activities.kubernetes import Cluster
    from k8s.client import make_api_client

    clusters: dict[str, Cluster] = {}
    for name, target in settings.configured_targets().items():
        if not isinstance(target, KubernetesTargetSettings):
            continue
        try:
            api = await make_api_client(kubeconfig=target.kubeconfig, context=target.context)
        except Exception as err:
            for made in clusters.values():
                await made.api.close()
            raise TargetConfigError(
                f"target {name!r}: cannot load kubeconfig {str(target.kubeconfig)!r}"
                f" context {target.context!r}: {err}"
            ) from err
        clusters[name] = Cluster(
            api,
            field_manager=target.field_manager,
            propagation_policy=target.propagation_policy,
            request_timeout_s=target.request_timeout_s,
        )
    return clusters


def places_of(settings: Settings, *, scratch: Path | None = None) -> dict[str, GitPlace]:
    """Where each Git target writes: one GitRepository per remote and branch. With
    ``scratch``, each repository's clone is a new folder in it (never the worker's)."""
    from activities.git import GitPlace
    from gitops.layout import GitLayout
    from gitops.repository import GitRepository

    repos: dict[tuple[str, str], GitRepository] = {}
    places: dict[str, GitPlace] = {}
    for name, target in settings.configured_targets().items():
        if not isinstance(target, GitTargetSettings):
            continue
        repo = repos.get((target.remote, target.branch))
        if repo is None:
            repo = repos[(target.remote, target.branch)] = GitRepository(
                remote=target.remote,
                branch=target.branch,
                workdir=target.workdir if scratch is None else scratch / f"clone-{len(repos)}",
                author_name=target.author_name,
                author_email=target.author_email,
                push_attempts=target.push_attempts,
            )
        places[name] = GitPlace(repo, GitLayout(target.path, target.kustomization))
    return places


def sync_options(settings: Settings) -> SyncOptions:
    from workflows.contracts import SyncOptions

    sync = settings.sync
    targets = settings.configured_targets()
    return SyncOptions(
        targets=tuple(targets),
        target_kinds=settings.target_kinds(),
        routes=settings.route_rules(),
        placed_by_environment=tuple(
            name
            for name, t in targets.items()
            if isinstance(t, GitTargetSettings) and GitLayout(t.path).by_environment
        ),
        apply_concurrently=sync.apply_concurrently,
        start_to_close_s=sync.activity_start_to_close_s,
        heartbeat_timeout_s=sync.heartbeat_timeout_s,
        retry_initial_interval_s=sync.retry_initial_interval_s,
        retry_backoff=sync.retry_backoff,
        retry_max_interval_s=sync.retry_max_interval_s,
        continue_as_new_after=sync.continue_as_new_after,
        search_attributes=sync.search_attributes,
        **notify_options(settings),
    )


def notify_options(settings: Settings) -> dict[str, Any]:
    """The SyncOptions fields of the notification settings: the workflow starts a
    notification only for an event some receiver subscribed to."""
    from workflows.contracts import NOTIFY_EVENTS

    notify = settings.notify
    subscribed = {event.value for receiver in notify.receivers for event in receiver.events}
    return {
        "notify_events": tuple(e for e in NOTIFY_EVENTS if e in subscribed),
        "notify_retrying_after": notify.retrying_after,
        "notify_attempts": notify.max_attempts,
        "notify_max_interval_s": notify.max_interval_s,
    }


def notify_config(settings: Settings) -> NotifyConfig:
    from activities.webhooks import NotifyConfig, Receiver

    return NotifyConfig(
        receivers=tuple(
            Receiver(
                name=r.name,
                url=r.url,
                events=tuple(e.value for e in r.events),
                secret_env=r.secret_env,
                secret_file=r.secret_file,
                format=r.format,
                timeout_s=r.timeout_s,
            )
            for r in settings.notify.receivers
        )
    )


async def connect_temporal(settings: Settings, *, stop: asyncio.Event | None = None) -> Client:
    """Connect, retrying while Temporal is unavailable (progress pauses; nothing is lost)."""
    from temporalio.client import Client

    delay = 0.5
    while True:
        try:
            return await Client.connect(
                settings.temporal.address, namespace=settings.temporal.namespace
            )
        except Exception as err:
            if stop is not None and stop.is_set():
                raise
            logger.warning(
                "Temporal at %s unavailable (%s); retrying", settings.temporal.address, err
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)


def api_redriver(
    settings: Settings, engine: Engine
) -> Callable[[str, str, str], Awaitable[tuple[str, int]]]:
    """The re-drive behind the API's ``.../replay`` route: ``worker.redriving`` over a
    Temporal client connected on first use (an API whose Temporal is down still serves
    everything else; the route answers 503). The Temporal client and the workflows'
    contracts are imported then too: an API that never replays never loads them."""
    clients: list[Client] = []

    async def redrive(namespace: str, name: str, reason: str) -> tuple[str, int]:
        from temporalio.client import Client

        from worker.redriving import redrive_key

        if not clients:
            temporal = settings.temporal
            connecting = Client.connect(temporal.address, namespace=temporal.namespace)
            clients.append(await asyncio.wait_for(connecting, 10.0))
        done = await redrive_key(
            client=clients[0],
            engine=engine,
            namespace=namespace,
            name=name,
            task_queue=settings.temporal.task_queue,
            options=sync_options(settings),
            reason=reason,
        )
        return done.action, done.version

    return redrive
