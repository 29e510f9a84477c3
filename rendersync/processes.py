"""The long-running processes: relay, bridge and worker, built from Settings."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from activities.git import GitActivities
from activities.gitrepo import GitRepository
from activities.kubernetes import KubernetesActivities
from activities.status import StatusActivities
from k8s.client import make_api_client
from rendersync.settings import Settings, Target
from rendersync.wiring import connect_temporal, engine_from, sync_options
from worker.consuming import Bridge, BridgeConfig
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
    )
    await Bridge(config, signaller).run(stop=stop)


@contextlib.asynccontextmanager
async def target_activities(settings: Settings) -> AsyncIterator[list[Any]]:
    """The activity callables for the configured targets, clients built once."""
    engine = engine_from(settings)
    status = StatusActivities(engine)
    activities: list[Any] = [status.record_failure, status.finish_delete]
    api = None
    if Target.KUBERNETES in settings.sync.targets:
        kube = settings.kubernetes
        api = await make_api_client(kubeconfig=kube.kubeconfig, context=kube.context)
        k8s = KubernetesActivities(
            api,
            engine,
            field_manager=kube.field_manager,
            propagation_policy=kube.propagation_policy,
            request_timeout_s=kube.request_timeout_s,
        )
        activities += [k8s.apply, k8s.delete]
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
        activities += [git_activities.apply, git_activities.remove]
    try:
        yield activities
    finally:
        if api is not None:
            await api.close()
        engine.dispose()


async def worker_main(settings: Settings, stop: asyncio.Event) -> None:
    client = await connect_temporal(settings, stop=stop)
    async with target_activities(settings) as activities:
        worker = build_worker(
            client,
            task_queue=settings.temporal.task_queue,
            activities=activities,
            graceful_shutdown_s=settings.sync.worker_grace_s,
        )
        await run_worker(worker, stop=stop)
