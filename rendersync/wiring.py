"""Builds the clients and options each process needs from the one Settings object."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from sqlalchemy import Engine
from temporalio.client import Client

from api.persistence.db import make_engine
from rendersync.settings import Settings
from worker.redriving import replay_key
from workflows.contracts import SyncOptions

logger = logging.getLogger(__name__)


def engine_from(settings: Settings) -> Engine:
    return make_engine(
        settings.db.url, echo=settings.db.echo, busy_timeout_ms=settings.db.sqlite_busy_timeout_ms
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


def api_replayer(
    settings: Settings, engine: Engine
) -> Callable[[str, str, str], Awaitable[tuple[str, int]]]:
    """The API's replay: ``worker.redriving`` over a Temporal client connected on first use
    (an API whose Temporal is down still serves everything else; replay answers 503)."""
    clients: list[Client] = []

    async def replay(namespace: str, name: str, reason: str) -> tuple[str, int]:
        if not clients:
            temporal = settings.temporal
            connecting = Client.connect(temporal.address, namespace=temporal.namespace)
            clients.append(await asyncio.wait_for(connecting, 10.0))
        done = await replay_key(
            client=clients[0],
            engine=engine,
            namespace=namespace,
            name=name,
            task_queue=settings.temporal.task_queue,
            options=sync_options(settings),
            reason=reason,
        )
        return done.action, done.version

    return replay
