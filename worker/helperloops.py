"""Supervision of the worker's helper loops (drift repair, anti-entropy, orphan collection).

A helper loop is a coroutine function ``run(stop)`` meant to run until ``stop`` is set.
``supervise`` restarts it whenever it raises or returns early: one database error or one
undecodable watch line must not end drift repair for the life of the worker. Each restart is
logged with its error and counted in ``rendersync_loop_restarts{loop}``; the delay before it
grows exponentially up to a cap, so a dependency that stays down is not hammered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable

from worker.pipelinemetrics import LOOP_RESTARTS

logger = logging.getLogger(__name__)

HelperLoop = Callable[[asyncio.Event], Awaitable[None]]


async def supervise(
    loop: str,
    run: HelperLoop,
    *,
    stop: asyncio.Event,
    backoff_initial_s: float = 1.0,
    backoff_max_s: float = 60.0,
) -> None:
    """Run ``run(stop)`` until ``stop``, restarting it after an error or an early return.

    The delay before a restart doubles from ``backoff_initial_s`` up to ``backoff_max_s``
    and starts over after a run that lasted longer than the cap (it was healthy meanwhile).
    An error while stopping ends supervision without a restart. Cancellation propagates.
    """
    restarts = LOOP_RESTARTS.labels(loop=loop)  # the series exists (at 0) before any restart
    delay = backoff_initial_s
    while not stop.is_set():
        started = time.monotonic()
        error: Exception | None = None
        try:
            await run(stop)
        except Exception as exc:
            error = exc
        if stop.is_set():
            return
        if time.monotonic() - started > backoff_max_s:
            delay = backoff_initial_s
        restarts.inc()
        if error is None:
            logger.error("%s ended unexpectedly; restarting in %.1fs", loop, delay)
        else:
            logger.error("%s stopped: %r; restarting in %.1fs", loop, error, delay, exc_info=error)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=delay)
        delay = min(delay * 2, backoff_max_s)


async def run_every(
    interval_s: float, one_pass: Callable[[], Awaitable[None]], *, stop: asyncio.Event
) -> None:
    """Call ``one_pass`` every ``interval_s`` (the first after one interval) until ``stop``.
    A failing pass raises, so its loop's supervisor logs, counts and restarts it."""
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval_s)
        if stop.is_set():
            return
        await one_pass()
