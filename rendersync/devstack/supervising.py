"""Supervision of the dev stack's children: start-up with deadlines, restarts, shutdown.

Policy after start-up: a rendersync process (api, relay, bridge, worker) that dies is
restarted with exponential backoff (1 s, 2 s, 4 s ... at most 30 s); one that keeps dying
(more than :data:`MAX_RESTARTS` times without staying up for :data:`STABLE_S`) stops the
stack. A service (Temporal, the broker, the emulator) that dies stops the stack: the broker
and the emulator keep their data in memory, so a fresh ``rendersync dev`` (which resyncs) is
the clean way back. Stopping the stack always stops every child, highest tier first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from rendersync.devstack.services.childprocesses import ManagedProcess, port_accepts
from rendersync.devstack.stack import ChildSpec
from rendersync.devstack.statefiles import remove_pids, write_pids

logger = logging.getLogger(__name__)

MAX_RESTARTS = 5
STABLE_S = 60.0
MAX_BACKOFF_S = 30.0
_POLL_S = 0.5


class StackError(RuntimeError):
    """Why the stack could not start or had to stop; the message names the part, ``output``
    holds what that part last wrote."""

    def __init__(self, message: str, *, output: str = "") -> None:
        super().__init__(message)
        self.output = output

    def report(self, lines: int = 8) -> str:
        """The message and the last ``lines`` non-blank lines of output, for the terminal."""
        tail = [line for line in self.output.splitlines() if line.strip()][-lines:]
        return "\n".join([str(self), *(f"    {line}" for line in tail)])


@dataclass
class Child:
    """A running (or restarting) child. ``spec`` is None for services started elsewhere."""

    name: str
    tier: int
    process: ManagedProcess
    spec: ChildSpec | None = None
    stop_grace_s: float = 10.0
    started_at: float = 0.0
    failures: int = 0
    restart_at: float | None = None


def exited_error(process: ManagedProcess, when: str) -> StackError:
    message = f"{process.name} exited {when} with status {process.returncode}; it last wrote:"
    return StackError(message, output=process.output_tail())


class Supervisor:
    """Owns every child of the stack; :meth:`shutdown` stops them all, by PID."""

    def __init__(self, *, state_dir: Path, env: Mapping[str, str]) -> None:
        self.state_dir = state_dir
        self.env = dict(env)
        self.children: dict[str, Child] = {}
        self.stopping = asyncio.Event()

    def spawn(self, spec: ChildSpec) -> Child:
        """Start the child ``spec`` describes and take charge of it."""
        env = {**self.env, **spec.env}
        process = ManagedProcess(spec.argv, name=spec.name, env=env).start()
        child = Child(spec.name, spec.tier, process, spec, spec.stop_grace_s, time.monotonic())
        return self._own(child)

    def adopt(self, name: str, process: ManagedProcess, *, tier: int) -> Child:
        """Take charge of a service process already started (and waited for) elsewhere."""
        return self._own(Child(name, tier, process, started_at=time.monotonic()))

    def _own(self, child: Child) -> Child:
        self.children[child.name] = child
        pids = {c.name: c.process.pid for c in self.children.values() if c.process.alive}
        write_pids(self.state_dir, pids)
        return child

    async def wait_ready(self, child: Child, *, timeout_s: float) -> None:
        """Return once ``child`` is up (see :class:`ChildSpec`); :class:`StackError` if it
        exits first or is not up by the deadline."""
        spec = child.spec
        assert spec is not None
        deadline = time.monotonic() + timeout_s
        async with httpx.AsyncClient(timeout=2.0) as http:
            while not await _answers(http, spec):
                if not child.process.alive:
                    raise exited_error(child.process, "during start-up")
                if time.monotonic() >= deadline:
                    message = f"{child.name} was not ready within {timeout_s:.0f}s; it last wrote:"
                    raise StackError(message, output=child.process.output_tail())
                await asyncio.sleep(0.2)
        logger.info("%s is ready (pid %s)", child.name, child.process.pid)

    async def watch(self) -> None:
        """Watch the children until :attr:`stopping` is set; restart or raise
        :class:`StackError` when one dies, per the module's policy."""
        while not self.stopping.is_set():
            for child in list(self.children.values()):
                self._check(child)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), timeout=_POLL_S)

    def _check(self, child: Child) -> None:
        now = time.monotonic()
        if child.restart_at is not None:
            if now >= child.restart_at and child.spec is not None:
                logger.warning("restarting %s (attempt %s)", child.name, child.failures)
                self.spawn(child.spec).failures = child.failures
            return
        if child.process.alive:
            if child.failures and now - child.started_at >= STABLE_S:
                child.failures = 0
            return
        # Its output is already in the log, line by line.
        logger.error(
            "%s (pid %s) exited with status %s",
            child.name,
            child.process.pid,
            child.process.returncode,
        )
        if child.spec is None or not child.spec.restartable:
            raise exited_error(child.process, "unexpectedly")
        child.failures += 1
        if child.failures > MAX_RESTARTS:
            message = f"{child.name} keeps exiting ({child.failures} times); it last wrote:"
            raise StackError(message, output=child.process.output_tail())
        delay = min(2.0 ** (child.failures - 1), MAX_BACKOFF_S)
        child.restart_at = now + delay
        logger.warning("%s will be restarted in %.0fs", child.name, delay)

    async def shutdown(self) -> None:
        """Stop every child, highest tier first (children of one tier together). Idempotent."""
        for tier in sorted({c.tier for c in self.children.values()}, reverse=True):
            batch = [c for c in self.children.values() if c.tier == tier]
            await asyncio.gather(*(c.process.astop(c.stop_grace_s) for c in batch))
        self.children.clear()
        remove_pids(self.state_dir)


async def _answers(http: httpx.AsyncClient, spec: ChildSpec) -> bool:
    if spec.ready_url is not None:
        try:
            return (await http.get(spec.ready_url)).status_code == 200
        except httpx.HTTPError:
            return False
    assert spec.ready_port is not None
    host = spec.ready_host
    return await asyncio.to_thread(port_accepts, host, spec.ready_port, timeout_s=0.5)
