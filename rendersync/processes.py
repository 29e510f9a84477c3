"""The long-running processes: relay, bridge and worker, built from Settings."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine

from activities.git import GitActivities
from activities.gitrepo import GitRepository
from activities.kubernetes import KubernetesActivities
from activities.options import OptionsActivities
from activities.status import StatusActivities
from k8s.client import make_api_client
from rendersync.settings import Settings, Target
from rendersync.wiring import connect_temporal, engine_from, sync_options
from worker.antientropy import run_anti_entropy
from worker.consuming import Bridge, BridgeConfig
from worker.drift import DriftRepair
from worker.publishing import RelayConfig, run_relay
from worker.running import build_worker, run_worker
from worker.signalling import Signaller


async def relay_main(settings: Settings, stop: asyncio.Event) -> None:
    kafka = settings.kafka
    config = RelayConfig(
        db_url=settings.db.url,
        bootstrap_servers=kafka.bootstrap_servers,
        topic=kafka.topic,
        partitions=kafka.partitions,
        replication_factor=kafka.replication_factor,
        idempotent_producer=kafka.idempotent_producer,
    )
    await run_relay(config, engine_from(settings), stop=stop)


async def bridge_main(settings: Settings, stop: asyncio.Event) -> None:
    kafka = settings.kafka
    client = await connect_temporal(settings, stop=stop)
    signaller = Signaller(
        client, task_queue=settings.temporal.task_queue, options=sync_options(settings)
    )
    config = BridgeConfig(
        bootstrap_servers=kafka.bootstrap_servers,
        topic=kafka.topic,
        group_id=kafka.consumer_group,
        dlq_topic=kafka.dlq_topic,
        max_poll_records=kafka.max_poll_records,
        partitions=kafka.partitions,
        replication_factor=kafka.replication_factor,
        session_timeout_ms=kafka.session_timeout_ms,
        heartbeat_interval_ms=kafka.heartbeat_interval_ms,
    )
    await Bridge(config, signaller).run(stop=stop)


@dataclass
class WorkerParts:
    """What the worker process builds once: activity callables and the clients behind them."""

    engine: Engine
    activities: list[Any]
    kube: Any = None


@contextlib.asynccontextmanager
async def worker_parts(settings: Settings) -> AsyncIterator[WorkerParts]:
    """The activities for the configured targets, clients built once and closed after."""
    engine = engine_from(settings)
    status = StatusActivities(engine)
    # The worker owns the sync options: running workflows ask it before each event.
    options = OptionsActivities(lambda: sync_options(settings))
    parts = WorkerParts(engine, [status.record_failure, status.finish_delete, options.sync_options])
    if Target.KUBERNETES in settings.sync.targets:
        kube = settings.kubernetes
        parts.kube = await make_api_client(kubeconfig=kube.kubeconfig, context=kube.context)
        k8s = KubernetesActivities(
            parts.kube,
            engine,
            field_manager=kube.field_manager,
            propagation_policy=kube.propagation_policy,
            request_timeout_s=kube.request_timeout_s,
        )
        parts.activities += [k8s.apply, k8s.delete]
    if Target.GIT in settings.sync.targets:
        git = settings.git
        repo = GitRepository(
            remote=git.remote,
            branch=git.branch,
            workdir=git.workdir,
            author_name=git.author_name,
            author_email=git.author_email,
            push_attempts=git.push_attempts,
        )
        git_activities = GitActivities(repo, engine)
        parts.activities += [git_activities.apply, git_activities.remove]
    try:
        yield parts
    finally:
        if parts.kube is not None:
            await parts.kube.close()
        engine.dispose()


async def worker_main(settings: Settings, stop: asyncio.Event) -> None:
    """The worker, plus drift repair and periodic anti-entropy when configured."""
    client = await connect_temporal(settings, stop=stop)
    options = sync_options(settings)
    signaller = Signaller(client, task_queue=settings.temporal.task_queue, options=options)
    async with worker_parts(settings) as parts:
        worker = build_worker(
            client,
            task_queue=settings.temporal.task_queue,
            activities=parts.activities,
            graceful_shutdown_s=settings.sync.worker_grace_s,
        )
        helpers = []
        if parts.kube is not None and settings.sync.drift_repair:
            drift = DriftRepair(api=parts.kube, engine=parts.engine, signaller=signaller)
            helpers.append(asyncio.create_task(drift.run(stop=stop)))
        if settings.sync.resync_interval_s > 0:
            helpers.append(
                asyncio.create_task(
                    run_anti_entropy(
                        engine=parts.engine,
                        signaller=signaller,
                        targets=options.targets,
                        interval_s=settings.sync.resync_interval_s,
                        stop=stop,
                    )
                )
            )
        try:
            await run_worker(worker, stop=stop)
        finally:
            for task in helpers:
                task.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
