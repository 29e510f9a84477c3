"""Child processes for the embedded services: free ports, readiness waits, managed lifetimes.

A :class:`ManagedProcess` runs one child in its own process group. Stopping it signals only that
child and, after the grace period, that process group: never anything it did not start. It can
be used from synchronous code (tests, fixtures) and from ``asyncio`` code (the dev supervisor);
the async helpers run the blocking parts in a worker thread.
"""

from __future__ import annotations

import asyncio
import collections
import concurrent.futures
import contextlib
import functools
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import threading
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from pathlib import Path
from typing import IO, Any, ParamSpec, TypeVar

logger = logging.getLogger(__name__)

_P = ParamSpec("_P")
_T = TypeVar("_T")

#: Lines of recent output kept in memory for error messages.
_TAIL_LINES = 60


class ExitedDuringStartupError(RuntimeError):
    """A service process exited before it became ready; the message carries its last output."""


async def retry_startup(
    launch: Callable[[], Coroutine[Any, Any, _T]], *, name: str, attempts: int = 3
) -> _T:
    """Await ``launch()`` again (up to ``attempts`` times) while it fails with
    :class:`ExitedDuringStartupError`, e.g. because a port picked by :func:`free_port` was
    taken before the server bound it. Other errors propagate at once.
    """
    for attempt in range(1, attempts + 1):
        try:
            return await launch()
        except ExitedDuringStartupError:
            if attempt == attempts:
                raise
            logger.warning("%s exited during start-up (attempt %s); retrying", name, attempt)
    raise AssertionError("unreachable")


def blocking(fn: Callable[_P, Coroutine[Any, Any, _T]]) -> Callable[_P, _T]:
    """Make a blocking variant of the coroutine function ``fn``.

    The coroutine runs to completion on a fresh event loop in a helper thread, so the caller's
    thread and its event-loop state are left alone. For synchronous callers: async code should
    await ``fn`` itself rather than block its loop.
    """

    @functools.wraps(fn)
    def run(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="stack") as pool:
            return pool.submit(asyncio.run, fn(*args, **kwargs)).result()

    return run


def free_port(host: str = "127.0.0.1") -> int:
    """Return a TCP port on ``host`` that was free a moment ago.

    The kernel picks the port; another process may still take it before the caller binds it,
    so callers that start a server on it should treat a bind failure as retryable.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def port_accepts(host: str, port: int, *, timeout_s: float = 0.5) -> bool:
    """Return whether a TCP connection to ``host:port`` succeeds right now.

    A connection whose local end equals its remote end is a TCP self-connect (possible when
    the port lies in the ephemeral range and nothing listens); it does not count.
    """
    try:
        with socket.create_connection((host, port), timeout=timeout_s) as sock:
            return bool(sock.getsockname() != sock.getpeername())
    except OSError:
        return False


def wait_for_port_sync(
    host: str,
    port: int,
    *,
    timeout_s: float,
    process: ManagedProcess | None = None,
    interval_s: float = 0.05,
) -> None:
    """Block until ``host:port`` accepts TCP connections.

    Raises ``TimeoutError`` at the deadline, or :class:`ExitedDuringStartupError` as soon as
    ``process`` (the server expected to listen there) has exited.
    """
    deadline = time.monotonic() + timeout_s
    while not port_accepts(host, port, timeout_s=min(0.5, timeout_s)):
        _check_waiting(host, port, deadline, timeout_s, process)
        time.sleep(interval_s)


async def wait_for_port(
    host: str,
    port: int,
    *,
    timeout_s: float,
    process: ManagedProcess | None = None,
    interval_s: float = 0.05,
) -> None:
    """Wait until ``host:port`` accepts TCP connections; errors as :func:`wait_for_port_sync`."""
    deadline = time.monotonic() + timeout_s
    while not await asyncio.to_thread(port_accepts, host, port, timeout_s=min(0.5, timeout_s)):
        _check_waiting(host, port, deadline, timeout_s, process)
        await asyncio.sleep(interval_s)


def _check_waiting(
    host: str, port: int, deadline: float, timeout_s: float, process: ManagedProcess | None
) -> None:
    if process is not None and not process.alive:
        raise ExitedDuringStartupError(
            f"{process.name} exited with {process.returncode}:\n{process.output_tail()}"
        )
    if time.monotonic() >= deadline:
        raise TimeoutError(f"{host}:{port} did not accept connections within {timeout_s}s")


def find_executable(name: str) -> Path:
    """Locate an executable installed with this Python environment (or else on ``PATH``).

    Looks in the environment's scripts directory, next to ``sys.executable``, then on ``PATH``;
    raises ``FileNotFoundError`` naming the places tried.
    """
    candidates = [Path(sysconfig.get_path("scripts")) / name, Path(sys.executable).parent / name]
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which(name)
    if found is not None:
        return Path(found)
    raise FileNotFoundError(f"{name} not found in {[str(c) for c in candidates]} or on PATH")


def pid_exists(pid: int) -> bool:
    """Return whether a process with ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rpartition(")")[2].split()[0] != "Z"
    return True


class ManagedProcess:
    """One child process in its own process group, with its output in a file or the log.

    Output goes to ``log_path`` (appended) when given, otherwise each line is logged at INFO
    with the prefix ``[name]``. ``stop_signal`` is the graceful signal (SIGTERM unless the
    program wants another, e.g. SIGINT for PostgreSQL's fast shutdown). ``user`` runs the
    child as another account (only possible when running as root).
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        name: str,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
        log_path: Path | None = None,
        stop_signal: signal.Signals = signal.SIGTERM,
        user: str | None = None,
    ) -> None:
        self.argv = list(argv)
        self.name = name
        self.log_path = log_path
        self.stop_signal = stop_signal
        self._env = dict(os.environ if env is None else env)
        self._cwd = cwd
        self._user = user
        self._proc: subprocess.Popen[bytes] | None = None
        self._tail: collections.deque[str] = collections.deque(maxlen=_TAIL_LINES)
        self._reader: threading.Thread | None = None

    def start(self) -> ManagedProcess:
        """Start the child; return ``self``. Starting twice raises ``RuntimeError``."""
        if self._proc is not None:
            raise RuntimeError(f"{self.name} was already started")
        stdout: int | IO[bytes] = subprocess.PIPE
        if self.log_path is not None:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            stdout = self.log_path.open("ab")
        try:
            self._proc = subprocess.Popen(
                self.argv,
                env=self._env,
                cwd=self._cwd,
                stdin=subprocess.DEVNULL,
                stdout=stdout,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                user=self._user,
            )
        finally:
            if not isinstance(stdout, int):
                stdout.close()
        if self._proc.stdout is not None:
            self._reader = threading.Thread(
                target=self._forward, args=(self._proc.stdout,), daemon=True
            )
            self._reader.start()
        logger.info("started %s pid=%s: %s", self.name, self._proc.pid, " ".join(self.argv))
        return self

    def _forward(self, stream: IO[bytes]) -> None:
        for raw in stream:
            line = raw.decode("utf-8", "replace").rstrip()
            self._tail.append(line)
            logger.info("[%s] %s", self.name, line)
        stream.close()

    @property
    def pid(self) -> int:
        """The child's PID (also its process group id). Raises if not started."""
        if self._proc is None:
            raise RuntimeError(f"{self.name} was not started")
        return self._proc.pid

    @property
    def returncode(self) -> int | None:
        """The exit status once the child has exited (negative: killed by that signal)."""
        return None if self._proc is None else self._proc.poll()

    @property
    def alive(self) -> bool:
        """Whether the child was started and has not exited."""
        return self._proc is not None and self._proc.poll() is None

    def output_tail(self) -> str:
        """The last lines the child wrote, for error messages."""
        if self.log_path is not None and self.log_path.exists():
            with self.log_path.open("rb") as fh:
                fh.seek(max(0, fh.seek(0, os.SEEK_END) - 8192))
                return fh.read().decode("utf-8", "replace")
        return "\n".join(self._tail)

    def stop(self, grace_s: float = 10.0) -> int | None:
        """Stop the child and everything left in its process group; return its exit status.

        Sends ``stop_signal`` to the child, waits up to ``grace_s``, then SIGKILLs the process
        group. Idempotent; a child that already exited is only reaped.
        """
        proc = self._proc
        if proc is None:
            return None
        if proc.poll() is None:
            logger.info("stopping %s pid=%s with %s", self.name, proc.pid, self.stop_signal.name)
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, self.stop_signal)
            try:
                proc.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                logger.warning("%s pid=%s still running after %ss", self.name, proc.pid, grace_s)
        self._kill_group(proc)
        if self._reader is not None:
            self._reader.join(timeout=2.0)
        return proc.returncode

    def _kill_group(self, proc: subprocess.Popen[bytes]) -> None:
        # The group id is the child's PID (start_new_session). While any member is alive the
        # kernel does not reuse that id, so signalling the group reaches only our processes.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    async def astop(self, grace_s: float = 10.0) -> int | None:
        """:meth:`stop` for async callers (runs in a worker thread)."""
        return await asyncio.to_thread(self.stop, grace_s)

    def __enter__(self) -> ManagedProcess:
        return self if self._proc is not None else self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
