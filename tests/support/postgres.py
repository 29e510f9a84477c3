"""A throwaway PostgreSQL server from the binaries in the ``pgserver`` wheel.

The launcher runs ``initdb`` and ``postgres`` itself (not ``pgserver.get_server``, which shares
one server between processes, stops it from ``atexit`` and, as root, adds a system user and
widens directory permissions up to ``/``). The server is this process's child: it listens on
127.0.0.1 (and a unix socket in a private run directory), trusts local connections, and is
stopped by PID. It is for the tests and the benchmark, never for production data.

PostgreSQL refuses to run as root. When this process is root, the server runs as an existing
unprivileged account (``nobody``; a ``rendersync-pg`` system user is added only if that does not
exist), and the binaries are copied to the run directory if that account cannot execute them
where they are installed.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import os
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from rendersync.devstack.services.childprocesses import (
    ExitedDuringStartupError,
    ManagedProcess,
    blocking,
    free_port,
    retry_startup,
    wait_for_port,
)
from tests.support.pgaccount import Account, runtime_account

logger = logging.getLogger(__name__)

#: Settings that trade durability for speed; the data is disposable.
_FAST_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


def pginstall_dir() -> Path:
    """The ``pginstall`` directory of the ``pgserver`` wheel (found without importing it)."""
    spec = importlib.util.find_spec("pgserver")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("the pgserver package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall"


@dataclass
class PostgresServer:
    """A running server. The role ``postgres`` is a superuser that needs no password."""

    process: ManagedProcess
    host: str
    port: int
    data_dir: Path
    socket_dir: Path
    run_dir: Path
    role: str = "postgres"

    @property
    def pid(self) -> int:
        return self.process.pid

    def url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL (psycopg 3 driver) of ``database`` over TCP."""
        return f"postgresql+psycopg://{self.role}@{self.host}:{self.port}/{database}"

    def socket_url(self, database: str = "postgres") -> str:
        """SQLAlchemy URL (psycopg 3 driver) of ``database`` over the unix socket."""
        return (
            f"postgresql+psycopg://{self.role}@/{database}?host={self.socket_dir}&port={self.port}"
        )

    def conninfo(self, database: str = "postgres") -> str:
        """libpq connection string of ``database``, for psycopg directly."""
        return f"host={self.host} port={self.port} user={self.role} dbname={database}"

    def create_database(self, name: str | None = None) -> str:
        """Create an empty database (a fresh unique name if ``None``); return its URL."""
        name = name or f"t_{uuid.uuid4().hex[:16]}"
        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url(name)

    def drop_database(self, name: str) -> None:
        """Drop ``name``, disconnecting its sessions; a missing database is not an error."""
        query = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        with psycopg.connect(self.conninfo(), autocommit=True) as conn:
            conn.execute(query)

    def stop(self, grace_s: float = 10.0) -> None:
        """Fast-shutdown the server (SIGKILL after ``grace_s``) and delete the run directory,
        which holds the data unless a data dir was given. Idempotent. Backends run in their own
        sessions (PostgreSQL calls setsid), so after a SIGKILL they exit on noticing that the
        postmaster died rather than by the group signal.
        """
        self.process.stop(grace_s)
        shutil.rmtree(self.run_dir, ignore_errors=True)

    async def astop(self, grace_s: float = 10.0) -> None:
        """:meth:`stop` for async callers."""
        await asyncio.to_thread(self.stop, grace_s)


async def start_postgres(
    *,
    data_dir: Path | None = None,
    host: str = "127.0.0.1",
    port: int | None = None,
    log_path: Path | None = None,
    startup_timeout_s: float = 60.0,
    pginstall: Path | None = None,
) -> PostgresServer:
    """Start a server and return once it accepts queries.

    ``data_dir`` is initialised if empty and kept; when ``None`` the data lives in a fresh
    temporary run directory removed by :meth:`PostgresServer.stop`. As root, a given
    ``data_dir``'s parents must be traversable by the server's account (see
    :mod:`tests.support.pgaccount`). ``pginstall`` replaces the wheel's binaries. Raises
    ``TimeoutError``, :class:`ExitedDuringStartupError` or ``RuntimeError`` (initdb failed)
    when it cannot start; no process or run directory is left behind then.
    """
    run_dir = Path(tempfile.mkdtemp(prefix="rendersync-pg-"))
    try:
        binaries = pginstall or pginstall_dir()
        account, data = await asyncio.to_thread(_prepare, run_dir, binaries, data_dir)
        return await retry_startup(
            lambda: _launch(account, data, run_dir, host, port, log_path, startup_timeout_s),
            name="postgres",
            attempts=1 if port else 3,
        )
    except BaseException:
        shutil.rmtree(run_dir, ignore_errors=True)
        raise


async def _launch(
    account: Account,
    data_dir: Path,
    run_dir: Path,
    host: str,
    port: int | None,
    log_path: Path | None,
    timeout_s: float,
) -> PostgresServer:
    bound = port or free_port(host)
    proc = _postgres_process(account, data_dir, run_dir, host, bound, log_path).start()
    server = PostgresServer(proc, host, bound, data_dir, run_dir, run_dir)
    try:
        await _wait_until_ready(server, timeout_s)
    except BaseException:
        await proc.astop(grace_s=2.0)
        raise
    logger.info("postgres ready at %s:%s (os user %s)", host, bound, account.user)
    return server


#: :func:`start_postgres` for code without a running event loop.
start_postgres_sync = blocking(start_postgres)


def _prepare(run_dir: Path, pginstall: Path, data_dir: Path | None) -> tuple[Account, Path]:
    """Choose the server's account and initialise the data directory for it (blocking)."""
    account = runtime_account(run_dir, pginstall)
    data = data_dir.absolute() if data_dir is not None else run_dir / "data"
    _initdb(account.bin_dir, data, account.user)
    return account, data


def _initdb(bin_dir: Path, data_dir: Path, user: str | None) -> None:
    """Initialise ``data_dir`` unless it already holds a cluster."""
    if (data_dir / "PG_VERSION").exists():
        return
    data_dir.mkdir(parents=True, exist_ok=True)
    if user is not None:
        shutil.chown(data_dir, user)
    argv = [str(bin_dir / "initdb"), "-D", str(data_dir), "-U", "postgres", "--auth=trust"]
    argv += ["--encoding=UTF8", "--no-locale", "--no-sync", "--no-instructions"]
    result = subprocess.run(
        argv, user=user, env=_server_env(), capture_output=True, text=True, timeout=120
    )
    if result.returncode != 0:
        raise RuntimeError(f"initdb exited with {result.returncode}: {result.stderr.strip()}")


def _postgres_process(
    account: Account, data_dir: Path, socket_dir: Path, host: str, port: int, log: Path | None
) -> ManagedProcess:
    argv = [str(account.bin_dir / "postgres"), "-D", str(data_dir), "-h", host, "-p", str(port)]
    argv += ["-k", str(socket_dir)]
    for setting in _FAST_SETTINGS:
        argv += ["-c", setting]
    return ManagedProcess(
        argv,
        name="postgres",
        env=_server_env(),
        log_path=log,
        # SIGINT is PostgreSQL's "fast" shutdown: it does not wait for clients to disconnect.
        stop_signal=signal.SIGINT,
        user=account.user,
    )


def _server_env() -> dict[str, str]:
    # libpq/server variables (PGDATA, PGPORT, ...) from the caller must not leak in.
    return {k: v for k, v in os.environ.items() if not k.startswith("PG")}


async def _wait_until_ready(server: PostgresServer, timeout_s: float) -> None:
    """Wait until a query succeeds (TCP accepts connections while still starting up)."""
    deadline = time.monotonic() + timeout_s
    await wait_for_port(server.host, server.port, timeout_s=timeout_s, process=server.process)
    while True:
        try:
            conn = await psycopg.AsyncConnection.connect(server.conninfo(), connect_timeout=2)
            async with conn:
                await conn.execute("SELECT 1")
            return
        except psycopg.OperationalError as exc:
            if not server.process.alive:
                raise ExitedDuringStartupError(server.process.output_tail()) from exc
            if time.monotonic() >= deadline:
                raise TimeoutError(f"postgres not ready in {timeout_s}s") from exc
        await asyncio.sleep(0.05)
