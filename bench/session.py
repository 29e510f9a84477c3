"""A running stack with its target observers, warmed up with one change end to end."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

from bench import load
from bench.benchstack import Stack, StackSpec, running_stack
from bench.machine import patient
from bench.observe import GitPushes, KubeWatch, Targets

logger = logging.getLogger(__name__)

#: Seconds a fresh stack gets to bring one change to every target (consumer group joins
#: on the embedded broker take several seconds), on a machine with no more than one runnable
#: process per core; :func:`bench.machine.patient` scales it by the load.
WARM_UP_TIMEOUT_S = 120.0
#: Seconds the Kubernetes watch of the observers gets to connect, scaled likewise.
WATCH_CONNECT_TIMEOUT_S = 30.0


@dataclass
class Session:
    stack: Stack
    targets: Targets
    ready_s: float

    def pids(self) -> dict[str, int]:
        """The stack's processes and this one (load generator and observers)."""
        return {**self.stack.pids(), "bench": os.getpid()}

    async def write(
        self, prefix: str, count: int, changes: int, *, existing: bool
    ) -> list[load.Written]:
        names = load.keys(prefix, count)
        return await asyncio.to_thread(
            load.write_burst, self.stack.engine, names, changes, existing=existing
        )


async def _warm_up(current: Session) -> None:
    """One change end to end; fails early if a process of the stack dies meanwhile."""
    warm = load.finals(await current.write("warmup", 1, 1, existing=False))
    deadline = time.monotonic() + patient(WARM_UP_TIMEOUT_S)
    while not await current.targets.converge(warm, timeout_s=2.0):
        current.stack.check_alive()
        if time.monotonic() > deadline:
            raise RuntimeError(f"the stack in {current.stack.run_dir} did not sync a change")


@contextlib.asynccontextmanager
async def session(run_dir: Path, spec: StackSpec) -> AsyncIterator[Session]:
    started = time.monotonic()
    async with running_stack(run_dir, spec) as stack:
        kube = KubeWatch(stack.emulator_url)
        watching = asyncio.create_task(kube.run())
        try:
            await asyncio.wait_for(kube.connected.wait(), timeout=patient(WATCH_CONNECT_TIMEOUT_S))
            git = GitPushes(stack.remote, stack.hook_log) if "git" in spec.targets else None
            targets = Targets(kube, git)
            current = Session(stack, targets, 0.0)
            await _warm_up(current)
            current.ready_s = round(time.monotonic() - started, 2)
            logger.info("stack ready after %.1fs", current.ready_s)
            yield current
        finally:
            watching.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await watching
