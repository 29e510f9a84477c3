"""CPU seconds and peak resident memory of every process of the stack, per scenario.

CPU time is user + system of the process and its children (psutil), as a difference between
the start and the end of the scenario. Peak RSS is the largest memory sampled every 0.2 s
during the scenario (a short spike between samples can be missed): the process's resident set
plus the unique set of each descendant. A descendant's resident set would count the pages it
shares with its parent: a ``git`` the worker has just forked and not yet exec'd shows the
worker's whole resident set again. ``/proc``'s ``VmHWM`` (the peak since the process started,
its own) is reported next to it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil

_MIB = 1024 * 1024


def _family(pid: int) -> list[psutil.Process]:
    """The process and its descendants; for this process only itself (its children are the
    stack, measured on their own)."""
    try:
        root = psutil.Process(pid)
        if pid == os.getpid():
            return [root]
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def _cpu_s(pid: int) -> float:
    total = 0.0
    for proc in _family(pid):
        with contextlib.suppress(psutil.Error):
            times = proc.cpu_times()
            total += times.user + times.system
    return total


def _rss(pid: int) -> int:
    """The process's resident set and what its descendants hold alone (their unique set)."""
    family = _family(pid)
    if not family:
        return 0
    total = 0
    with contextlib.suppress(psutil.Error):
        total += family[0].memory_info().rss
    for proc in family[1:]:
        with contextlib.suppress(psutil.Error):
            total += proc.memory_full_info().uss
    return total


def _hwm_mib(pid: int) -> float:
    with contextlib.suppress(OSError, ValueError):
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class CostMeter:
    """Started and stopped around one scenario; :meth:`result` is its cost per process."""

    pids: dict[str, int]
    cpu_start: dict[str, float] = field(default_factory=dict)
    cpu_end: dict[str, float] = field(default_factory=dict)
    peak: dict[str, int] = field(default_factory=dict)
    wall_s: float = 0.0

    def sample(self) -> None:
        for name, pid in self.pids.items():
            self.peak[name] = max(self.peak.get(name, 0), _rss(pid))

    def result(self) -> dict[str, dict[str, float]]:
        out = {}
        for name, pid in self.pids.items():
            cpu = self.cpu_end.get(name, 0.0) - self.cpu_start.get(name, 0.0)
            out[name] = {
                "cpu_s": round(cpu, 3),
                "cpu_share": round(cpu / self.wall_s, 3) if self.wall_s else 0.0,
                "peak_rss_mib": round(self.peak.get(name, 0) / _MIB, 1),
                "vm_hwm_mib": round(_hwm_mib(pid), 1),
            }
        return out


@contextlib.asynccontextmanager
async def metered(pids: dict[str, int]) -> AsyncIterator[CostMeter]:
    meter = CostMeter(dict(pids))
    meter.cpu_start = {name: _cpu_s(pid) for name, pid in meter.pids.items()}
    started = time.monotonic()

    async def sampling() -> None:
        while True:
            await asyncio.to_thread(meter.sample)
            await asyncio.sleep(0.2)

    task = asyncio.create_task(sampling())
    try:
        yield meter
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        meter.cpu_end = {name: _cpu_s(pid) for name, pid in meter.pids.items()}
        meter.wall_s = time.monotonic() - started
