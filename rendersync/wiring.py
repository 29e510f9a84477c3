"""Builds the clients and options each process needs from the one Settings object."""

from __future__ import annotations

import asyncio
import logging

from sqlalchemy import Engine
from temporalio.client import Client

from api.persistence.db import make_engine
from api.web.previewing import PreviewTargets
from k8s.dryrun import ClusterDryRun
from rendersync.gittip import GitTipReader
from rendersync.settings import Settings, Target
from workflows.contracts import SyncOptions

logger = logging.getLogger(__name__)


def engine_from(settings: Settings) -> Engine:
    return make_engine(
        settings.db.url, echo=settings.db.echo, busy_timeout_ms=settings.db.sqlite_busy_timeout_ms
    )


def preview_targets(settings: Settings) -> PreviewTargets:
    """The API's clients for previews: the worker's cluster (``kubernetes`` settings, same
    field manager) and GitOps remote (``git`` settings, read only), for the configured
    targets. Nothing connects here; a preview that cannot reach one says so."""
    kube, git = settings.kubernetes, settings.git
    targets = settings.sync.targets
    return PreviewTargets(
        kubernetes=ClusterDryRun(
            kubeconfig=kube.kubeconfig,
            context=kube.context,
            field_manager=kube.field_manager,
            request_timeout_s=kube.request_timeout_s,
        )
        if Target.KUBERNETES in targets
        else None,
        git=GitTipReader(remote=git.remote, branch=git.branch) if Target.GIT in targets else None,
    )


def sync_options(settings: Settings) -> SyncOptions:
    sync = settings.sync
    return SyncOptions(
        targets=tuple(t.value for t in sync.targets),
        start_to_close_s=sync.activity_start_to_close_s,
        heartbeat_timeout_s=sync.heartbeat_timeout_s,
        retry_initial_interval_s=sync.retry_initial_interval_s,
        retry_backoff=sync.retry_backoff,
        retry_max_interval_s=sync.retry_max_interval_s,
        continue_as_new_after=sync.continue_as_new_after,
        search_attributes=sync.search_attributes,
    )


async def connect_temporal(settings: Settings, *, stop: asyncio.Event | None = None) -> Client:
    """Connect, retrying while Temporal is unavailable (progress pauses; nothing is lost)."""
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
