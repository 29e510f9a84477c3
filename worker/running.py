"""The Temporal worker process: AppConfigSync plus the target and status activities."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from workflows import AppConfigSync, DeliverNotification

logger = logging.getLogger(__name__)


def build_worker(
    client: Client,
    *,
    task_queue: str,
    activities: Sequence[Callable[..., Any]],
    graceful_shutdown_s: float = 30.0,
    max_concurrent_activities: int = 100,
) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[AppConfigSync, DeliverNotification],
        activities=list(activities),
        graceful_shutdown_timeout=timedelta(seconds=graceful_shutdown_s),
        max_concurrent_activities=max_concurrent_activities,
    )


async def run_worker(worker: Worker, *, stop: asyncio.Event) -> None:
    """Run until ``stop``; then let running activities finish within the grace period."""
    async with worker:
        logger.info("worker polling task queue %s", worker.task_queue)
        await stop.wait()
        logger.info("worker shutting down")
