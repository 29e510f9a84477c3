"""Fixtures for end-to-end tests: ``rendersync dev`` run as a subprocess on free ports.

Its output goes to files under the test's temporary directory (``dev-<run>.out``/``.err``);
failures quote their tail. Teardown stops a stack the test left running, and kills by PID
whatever it had started if it does not stop in time.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from rendersync.devstack.banner import READY_LINE
from rendersync.devstack.services.childprocesses import free_port, pid_exists
from rendersync.devstack.statefiles import PIDS_FILE
from rendersync.statedir import read_endpoints

#: Settings for every run: failing syncs retry fast, the worker stops fast.
E2E_ENV = {
    "RENDERSYNC_SYNC__RETRY_INITIAL_INTERVAL_S": "0.2",
    "RENDERSYNC_SYNC__RETRY_MAX_INTERVAL_S": "1",
    "RENDERSYNC_SYNC__WORKER_GRACE_S": "2",
}
PORT_FLAGS = (
    "--api-port",
    "--temporal-port",
    "--temporal-ui-port",
    "--kafka-port",
    "--k8s-port",
    "--k8s-prod-port",
)
START_TIMEOUT_S = 150.0
STOP_TIMEOUT_S = 60.0


class DevStack:
    """``rendersync dev`` runs on one state directory, one at a time, on fixed ports."""

    def __init__(self, state_dir: Path, logs: Path) -> None:
        self.state_dir = state_dir
        self.logs = logs
        self.ports = {flag: free_port() for flag in PORT_FLAGS}
        self.process: subprocess.Popen[bytes] | None = None
        self.runs = 0
        self.last_pids: set[int] = set()

    @property
    def out(self) -> Path:
        return self.logs / f"dev-{self.runs}.out"

    @property
    def err(self) -> Path:
        return self.logs / f"dev-{self.runs}.err"

    @property
    def urls(self) -> dict[str, str]:
        return read_endpoints(self.state_dir)["urls"]

    @property
    def env(self) -> dict[str, str]:
        """The RENDERSYNC_* variables the stack's processes got."""
        return read_endpoints(self.state_dir)["env"]

    @property
    def admin_headers(self) -> dict[str, str]:
        """The Authorization header with the admin token the stack made on first start."""
        token = (self.state_dir / "admin-token").read_text().strip()
        return {"authorization": f"Bearer {token}"}

    def log_tail(self, lines: int = 80) -> str:
        text = self.err.read_text(errors="replace") if self.err.exists() else ""
        return "\n".join(text.splitlines()[-lines:])

    async def start(self) -> None:
        """Start a run and return once it printed its ready block."""
        self.runs += 1
        self.process = self._spawn()
        await self._until_ready()

    def _spawn(self) -> subprocess.Popen[bytes]:
        argv = [sys.executable, "-m", "rendersync.cli", "dev", "--state-dir", str(self.state_dir)]
        for flag, port in self.ports.items():
            argv += [flag, str(port)]
        with self.out.open("wb") as out, self.err.open("wb") as err:
            return subprocess.Popen(
                argv,
                env={**os.environ, **E2E_ENV},
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )

    async def _until_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while READY_LINE not in self.out.read_text(errors="replace"):
            assert self.process is not None
            if self.process.poll() is not None:
                pytest.fail(f"dev exited with {self.process.returncode}:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                pytest.fail(f"dev not ready in {START_TIMEOUT_S}s:\n{self.log_tail()}")
            await asyncio.sleep(0.25)

    def child_pid(self, name: str) -> int:
        """The PID the running stack recorded for child ``name``."""
        recorded = json.loads((self.state_dir / PIDS_FILE).read_text())
        pid: int = recorded["children"][name]
        return pid

    def process_ids(self) -> set[int]:
        """Every process the running stack started: its PID file and its direct children."""
        assert self.process is not None
        recorded = json.loads((self.state_dir / PIDS_FILE).read_text())
        self.last_pids = set(recorded["children"].values()) | children_of(self.process.pid)
        return self.last_pids

    async def interrupt(self) -> int:
        """Ctrl-C the run; return its exit status once it has exited."""
        assert self.process is not None
        self.process.send_signal(signal.SIGINT)
        deadline = time.monotonic() + STOP_TIMEOUT_S
        while self.process.poll() is None:
            if time.monotonic() > deadline:
                pytest.fail(f"dev still running {STOP_TIMEOUT_S}s after SIGINT")
            await asyncio.sleep(0.1)
        return self.process.returncode

    def kill_leftovers(self) -> None:
        """Teardown: stop a run still going, by PID; then its children's process groups."""
        proc = self.process
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(OSError):
                    self.process_ids()
                proc.kill()
                proc.wait()
        for pid in self.last_pids:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)


def children_of(pid: int) -> set[int]:
    """PIDs whose parent is ``pid`` (as ``ps --ppid`` lists them)."""
    return {p for p, fields in _proc_stats() if fields[1] == str(pid)}


def alive_in(pids: set[int]) -> set[int]:
    """Which of ``pids`` still run, or lead a process group that still has members."""
    grouped = {int(fields[2]) for _, fields in _proc_stats()}
    return {pid for pid in pids if pid_exists(pid) or pid in grouped}


def _proc_stats() -> Iterator[tuple[int, list[str]]]:
    """(pid, [state, ppid, pgrp, ...]) of every live process."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
            if fields[0] != "Z":
                yield int(entry.name), fields


@pytest.fixture
def dev_stack(tmp_path: Path) -> Iterator[DevStack]:
    stack = DevStack(tmp_path / "state", tmp_path)
    try:
        yield stack
    finally:
        stack.kill_leftovers()
