"""The Temporal worker: AppConfigSync and DeliverNotification, plus the declared activities.

The activities a worker serves are the methods of its activity objects that implement a
declaration (``workflows.declarations.implements``): :func:`served` lists them, and
:func:`build_worker` refuses to start without one that its targets require.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from workflows import AppConfigSync, DeliverNotification
from workflows.declarations import declaration_of, required

logger = logging.getLogger(__name__)

#: How workers run workflow code: directly, without the sandbox. The sandbox re-imported the
#: workflow modules for every new workflow instance and proxied the standard library; that was
#: about half of the worker's workflow CPU per change (docs/benchmarks.md). Its run-time check
#: covered only the three workflow modules it re-imported, and only the lines a run executed
#: (the others are passed through); determinism is checked instead in the tests, over every
#: module of ``workflows`` and every line (tests/workflows/test_determinism.py), and the
#: recorded histories replay both this way and in the sandbox. Tests and replays use this
#: runner too.
WORKFLOW_RUNNER = UnsandboxedWorkflowRunner()


def served(*implementations: object) -> list[Callable[..., Any]]:
    """The activity methods of ``implementations``: those implementing a declaration."""
    return [
        getattr(implementation, name)
        for implementation in implementations
        for name, function in inspect.getmembers(type(implementation), inspect.isfunction)
        if declaration_of(function) is not None
    ]


def missing(activities: Iterable[Callable[..., Any]], *, kinds: Iterable[str]) -> list[str]:
    """The names of the activities syncing to targets of ``kinds`` needs that ``activities``
    lack."""
    names = {d.name for d in map(declaration_of, activities) if d is not None}
    return [d.name for d in required(kinds) if d.name not in names]


def build_worker(
    client: Client,
    *,
    task_queue: str,
    activities: Sequence[Callable[..., Any]],
    kinds: Iterable[str],
    graceful_shutdown_s: float = 30.0,
    max_concurrent_activities: int = 100,
    max_cached_workflows: int = 1000,
) -> Worker:
    """A worker serving ``activities``; ValueError when one the sync to targets of ``kinds``
    calls is not among them (a workflow would wait for it forever)."""
    lacking = missing(activities, kinds=kinds)
    if lacking:
        raise ValueError(f"the worker serves no activity {lacking}")
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[AppConfigSync, DeliverNotification],
        activities=list(activities),
        graceful_shutdown_timeout=timedelta(seconds=graceful_shutdown_s),
        max_concurrent_activities=max_concurrent_activities,
        max_cached_workflows=max_cached_workflows,
        workflow_runner=WORKFLOW_RUNNER,
    )


async def run_worker(worker: Worker, *, stop: asyncio.Event) -> None:
    """Run until ``stop``; then let running activities finish within the grace period."""
    async with worker:
        logger.info("worker polling task queue %s", worker.task_queue)
        await stop.wait()
        logger.info("worker shutting down")
