"""Process management: free ports, readiness waits, and stopping exactly the processes started."""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rendersync.devstack.services.childprocesses import (
    ExitedDuringStartupError,
    ManagedProcess,
    blocking,
    find_executable,
    free_port,
    pid_exists,
    port_accepts,
    wait_for_port,
    wait_for_port_sync,
)
from tests.support.waiting import wait_until

Spawn = Callable[..., ManagedProcess]


@pytest.fixture
def spawn() -> Iterator[Spawn]:
    """Start a Python child running ``code``; every child is stopped after the test."""
    started: list[ManagedProcess] = []

    def start(
        code: str,
        *,
        name: str = "child",
        env: dict[str, str] | None = None,
        log_path: Path | None = None,
        stop_signal: signal.Signals = signal.SIGTERM,
    ) -> ManagedProcess:
        argv = [sys.executable, "-c", textwrap.dedent(code)]
        proc = ManagedProcess(argv, name=name, env=env, log_path=log_path, stop_signal=stop_signal)
        started.append(proc.start())
        return proc

    yield start
    for proc in started:
        proc.stop(grace_s=1)


@pytest.fixture
def listener() -> Iterator[tuple[str, int]]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield "127.0.0.1", sock.getsockname()[1]


def test_free_port_is_bindable_on_loopback() -> None:
    port = free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


def test_wait_for_port_returns_once_listening(listener: tuple[str, int]) -> None:
    wait_for_port_sync(*listener, timeout_s=5)
    asyncio.run(wait_for_port(*listener, timeout_s=5))


def test_wait_for_port_times_out_when_nothing_listens() -> None:
    port = free_port()
    assert not port_accepts("127.0.0.1", port)
    with pytest.raises(TimeoutError):
        wait_for_port_sync("127.0.0.1", port, timeout_s=0.3)


async def test_wait_for_port_fails_fast_when_the_process_exits(spawn: Spawn) -> None:
    proc = spawn("import sys; print('boom'); sys.exit(3)")
    started = time.monotonic()
    with pytest.raises(ExitedDuringStartupError, match="boom"):
        await wait_for_port("127.0.0.1", free_port(), timeout_s=30, process=proc)
    assert time.monotonic() - started < 10
    assert proc.returncode == 3
    proc.stop()


def test_stop_terminates_the_child_and_reaps_it(spawn: Spawn) -> None:
    proc = spawn("import time; time.sleep(60)")
    assert proc.alive
    assert proc.stop(grace_s=5) == -signal.SIGTERM
    assert not proc.alive
    assert not pid_exists(proc.pid)
    assert proc.stop() == -signal.SIGTERM  # idempotent


def test_stop_kills_a_child_that_ignores_the_signal_and_its_group(
    spawn: Spawn, tmp_path: Path
) -> None:
    pid_file = tmp_path / "grandchild.pid"
    proc = spawn(
        f"""
        import signal, subprocess, sys, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
        open({str(pid_file)!r}, "w").write(str(child.pid))
        time.sleep(60)
        """
    )
    wait_until(lambda: pid_file.exists() and pid_file.read_text())
    grandchild = int(pid_file.read_text())
    started = time.monotonic()
    assert proc.stop(grace_s=0.5) == -signal.SIGKILL
    assert time.monotonic() - started < 5
    assert not pid_exists(proc.pid)
    wait_until(lambda: not pid_exists(grandchild))


def test_output_goes_to_the_log_file(spawn: Spawn, tmp_path: Path) -> None:
    log = tmp_path / "logs" / "child.log"
    proc = spawn("print('hello file', flush=True)", log_path=log)
    wait_until(lambda: not proc.alive)
    proc.stop()
    assert "hello file" in log.read_text()
    assert "hello file" in proc.output_tail()


def test_output_is_forwarded_to_the_log_with_a_prefix(
    spawn: Spawn, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="rendersync.devstack.services.childprocesses")
    proc = spawn("print('hello log')", name="greeter")
    wait_until(lambda: not proc.alive)
    proc.stop()
    assert "[greeter] hello log" in caplog.text
    assert proc.returncode == 0


def test_custom_stop_signal_and_environment(spawn: Spawn) -> None:
    proc = spawn(
        """
        import os, signal, sys, time
        signal.signal(signal.SIGINT, lambda *_: sys.exit(int(os.environ["CODE"])))
        print("ready", flush=True)
        time.sleep(60)
        """,
        env={"CODE": "7"},
        stop_signal=signal.SIGINT,
    )
    wait_until(lambda: "ready" in proc.output_tail())
    assert proc.stop(grace_s=5) == 7


async def test_async_stop(spawn: Spawn) -> None:
    proc = spawn("import time; time.sleep(60)")
    assert await proc.astop(grace_s=5) == -signal.SIGTERM
    assert not pid_exists(proc.pid)


def test_blocking_runs_a_coroutine_from_sync_code() -> None:
    async def add(a: int, b: int) -> int:
        await asyncio.sleep(0)
        return a + b

    assert blocking(add)(2, 3) == 5


def test_find_executable_finds_the_environment_binaries() -> None:
    assert find_executable("temporal").is_file()
    assert find_executable("temporal-test-server").is_file()
    with pytest.raises(FileNotFoundError):
        find_executable("no-such-binary-rendersync")
