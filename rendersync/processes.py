"""What the production entrypoints run: ``rendersync db upgrade`` migrates the schema once;
``rendersync api|relay|bridge|worker`` each assemble that process from the Settings and run
it until SIGINT/SIGTERM (the API under uvicorn; relay, bridge and worker as asyncio programs
with a metrics endpoint). Each imports what only it uses inside its own functions, so the
relay loads no Temporal, web or Kubernetes client and the bridge no web or Kubernetes
client."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from prometheus_client import start_http_server

from rendersync.settings import Settings
from vocabulary import TARGET_KUBERNETES

if TYPE_CHECKING:
    from fastapi import FastAPI
    from sqlalchemy import Engine

    from activities.git import GitPlace
    from activities.kubernetes import Cluster
    from worker.helperloops import HelperLoop
    from worker.signalling import Signaller

logger = logging.getLogger(__name__)


def run_db_upgrade(_args: argparse.Namespace, settings: Settings) -> int:
    """``rendersync db upgrade``: migrate the schema to the latest version."""
    from persistence.migrating import upgrade
    from rendersync.wiring import engine_from

    upgrade(engine_from(settings))
    return 0


def run_api(args: argparse.Namespace, settings: Settings) -> int:
    """``rendersync api``: serve the REST API (after upgrading the schema, unless told not)."""
    import uvicorn

    from rendersync.authwiring import AuthConfigError

    migrate = settings.api.migrate_on_start and not args.no_migrate
    try:
        app = build_app(settings, migrate=migrate)
    except AuthConfigError as err:
        print(f"rendersync api: {err}", file=sys.stderr)
        return 2
    host = args.host or settings.api.host
    port = args.port if args.port is not None else settings.api.port
    uvicorn.run(app, host=host, port=port, log_config=None, access_log=False)
    return 0


def build_app(settings: Settings, *, migrate: bool) -> FastAPI:
    from api.web.app import create_app
    from persistence.migrating import upgrade
    from rendersync.authwiring import auth_config
    from rendersync.wiring import api_redriver, engine_from, preview_targets
    from vocabulary.limits import max_event_bytes

    engine = engine_from(settings)
    auth = auth_config(settings, engine)
    if migrate:
        upgrade(engine)
    return create_app(
        engine=engine,
        targets=tuple(settings.configured_targets()),
        target_kinds=settings.target_kinds(),
        routes=settings.route_rules(),
        ui_url=settings.temporal.ui_url,
        temporal_namespace=settings.temporal.namespace,
        default_page_limit=settings.api.default_page_limit,
        max_body_bytes=settings.api.max_body_bytes,
        max_event_bytes=max_event_bytes(settings.kafka.max_request_size),
        auth=auth,
        redriver=api_redriver(settings, engine),
        previews=preview_targets(settings),
    )


def run_relay(_args: argparse.Namespace, settings: Settings) -> int:
    """``rendersync relay``: publish the outbox to Kafka."""
    return run_until_signalled(
        lambda stop: relay_main(settings, stop),
        metrics_port=settings.metrics.relay_port,
        metrics_host=settings.metrics.host,
    )


def run_bridge(_args: argparse.Namespace, settings: Settings) -> int:
    """``rendersync bridge``: hand Kafka change events to Temporal."""
    return run_until_signalled(
        lambda stop: bridge_main(settings, stop),
        metrics_port=settings.metrics.bridge_port,
        metrics_host=settings.metrics.host,
    )


def run_worker(_args: argparse.Namespace, settings: Settings) -> int:
    """``rendersync worker``: the Temporal worker and its helper loops; exit status 2, with
    one line naming it, when a target cannot be reached as configured."""
    from rendersync.wiring import TargetConfigError

    try:
        return run_until_signalled(
            lambda stop: worker_main(settings, stop),
            metrics_port=settings.metrics.worker_port,
            metrics_host=settings.metrics.host,
        )
    except TargetConfigError as err:
        print(f"rendersync worker: {err}", file=sys.stderr)
        return 2


def run_until_signalled(
    main: Callable[[asyncio.Event], Awaitable[None]],
    *,
    metrics_port: int | None = None,
    metrics_host: str = "127.0.0.1",
) -> int:
    """Run ``main(stop)``; the first SIGINT/SIGTERM sets ``stop`` for a graceful exit."""
    if metrics_port:
        start_http_server(metrics_port, addr=metrics_host)
        logger.info("metrics on http://%s:%d/metrics", metrics_host, metrics_port)

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await main(stop)

    asyncio.run(runner())
    return 0


async def relay_main(settings: Settings, stop: asyncio.Event) -> None:
    from rendersync.wiring import engine_from
    from worker import relay
    from worker.relay import RelayConfig

    kafka = settings.kafka
    config = RelayConfig(
        db_url=settings.db.url,
        bootstrap_servers=kafka.bootstrap_servers,
        topic=kafka.topic,
        partitions=kafka.partitions,
        replication_factor=kafka.replication_factor,
        idempotent_producer=kafka.idempotent_producer,
        max_request_size=kafka.max_request_size,
    )
    await relay.run_relay(config, engine_from(settings), stop=stop)


async def bridge_main(settings: Settings, stop: asyncio.Event) -> None:
    from rendersync.wiring import connect_temporal, engine_from, sync_options
    from worker.bridge import Bridge, BridgeConfig
    from worker.signalling import Signaller

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
        max_in_flight=kafka.max_in_flight,
        partitions=kafka.partitions,
        replication_factor=kafka.replication_factor,
        session_timeout_ms=kafka.session_timeout_ms,
        heartbeat_interval_ms=kafka.heartbeat_interval_ms,
    )
    engine = engine_from(settings)
    try:
        await Bridge(config, signaller, engine=engine).run(stop=stop)
    finally:
        engine.dispose()


@dataclass
class WorkerParts:
    """What the worker process builds once: activity callables and the clients behind them."""

    engine: Engine
    activities: list[Any]
    #: One API client per Kubernetes target, by target name.
    clusters: dict[str, Cluster] = field(default_factory=dict)
    #: Where each Git target writes, by target name; targets of one repository share its
    #: one writer (activities and orphan collection too).
    places: dict[str, GitPlace] = field(default_factory=dict)


@contextlib.asynccontextmanager
async def worker_parts(settings: Settings) -> AsyncIterator[WorkerParts]:
    """The activities for the configured targets, clients built once and closed after."""
    from activities.git import GitActivities
    from activities.kubernetes import KubernetesActivities
    from activities.options import OptionsActivities
    from activities.reporting import StatusActivities
    from activities.webhooks import NotifyActivities
    from rendersync.wiring import clusters_of, engine_from, notify_config, places_of, sync_options
    from worker.temporalworker import served

    engine = engine_from(settings)
    status = StatusActivities(engine)
    # The worker owns the sync options: running workflows ask it before each event.
    options = OptionsActivities(lambda: sync_options(settings))
    notify = NotifyActivities(lambda: notify_config(settings))
    parts = WorkerParts(engine, served(status, options, notify))
    try:
        parts.clusters = await clusters_of(settings)
        parts.places = places_of(settings)
        if parts.clusters:
            parts.activities += served(KubernetesActivities(parts.clusters, engine))
        if parts.places:
            parts.activities += served(GitActivities(parts.places, engine))
        yield parts
    finally:
        for cluster in parts.clusters.values():
            await cluster.api.close()
        engine.dispose()


def helper_loops(
    settings: Settings, parts: WorkerParts, signaller: Signaller
) -> dict[str, HelperLoop]:
    """The worker's helper loops the settings turn on, by the name they are supervised as."""
    from rendersync.wiring import sync_options
    from worker.antientropy import run_anti_entropy
    from worker.driftrepair import DriftRepair
    from worker.orphans import OrphanCollection

    loops: dict[str, HelperLoop] = {}
    sync = settings.sync
    options = sync_options(settings)
    for name, cluster in parts.clusters.items() if sync.drift_repair else ():
        drift = DriftRepair(
            api=cluster.api,
            engine=parts.engine,
            signaller=signaller,
            target=name,
            options=options,
            own_writes=cluster.own_writes,
        )
        loops["drift" if name == TARGET_KUBERNETES else f"drift {name}"] = drift.run
    if sync.resync_interval_s > 0:
        loops["anti-entropy"] = lambda stop: run_anti_entropy(
            engine=parts.engine,
            signaller=signaller,
            options=options,
            interval_s=sync.resync_interval_s,
            stop=stop,
        )
    if sync.orphan_interval_s > 0 and (parts.clusters or parts.places):
        orphans = OrphanCollection(
            engine=parts.engine,
            clusters=parts.clusters,
            places=parts.places,
            options=options,
            grace_s=sync.orphan_grace_s,
        )
        loops["orphans"] = lambda stop: orphans.run(interval_s=sync.orphan_interval_s, stop=stop)
    return loops


async def worker_main(settings: Settings, stop: asyncio.Event) -> None:
    """The worker, plus its helper loops (drift repair, anti-entropy, orphan collection),
    each supervised."""
    from rendersync.wiring import connect_temporal, sync_options
    from worker import temporalworker
    from worker.helperloops import supervise
    from worker.signalling import Signaller
    from worker.temporalworker import build_worker

    options = sync_options(settings)
    async with worker_parts(settings) as parts:  # a target it cannot reach stops it first
        client = await connect_temporal(settings, stop=stop)
        signaller = Signaller(client, task_queue=settings.temporal.task_queue, options=options)
        worker = build_worker(
            client,
            task_queue=settings.temporal.task_queue,
            activities=parts.activities,
            kinds=[options.kind(t) for t in options.targets],
            graceful_shutdown_s=settings.sync.worker_grace_s,
            max_cached_workflows=settings.sync.max_cached_workflows,
        )
        helpers = [
            asyncio.create_task(supervise(name, loop, stop=stop), name=name)
            for name, loop in helper_loops(settings, parts, signaller).items()
        ]
        try:
            await temporalworker.run_worker(worker, stop=stop)
        finally:
            for task in helpers:
                task.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
