"""The stack under test: real services on loopback and rendersync's processes, by PID.

Temporal dev server (headless; in memory or a SQLite history file), the in-memory Kafka
broker, the Kubernetes API emulator (``rendersync k8s-emulator``), a bare Git remote whose
post-receive hook stamps every push, and ``rendersync api|relay|bridge|worker`` each as its
own process configured through the ``RENDERSYNC_*`` variables of the stack's
:class:`~rendersync.devstack.description.StackDescription`. Everything is started here and
stopped here, by PID; nothing else is touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import stat
import sys
from collections.abc import AsyncIterator, Awaitable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from bench.machine import patient
from persistence.db import make_engine
from persistence.migrating import upgrade
from rendersync.devstack.admintoken import issue_admin_token
from rendersync.devstack.description import (
    PIPELINE,
    Endpoints,
    StackDescription,
    emulator_argv,
    rendersync_argv,
    worker_names,
    worker_settings,
)
from rendersync.devstack.services.childprocesses import ManagedProcess, free_port, wait_for_port
from rendersync.devstack.services.gitremote import init_bare_repo
from rendersync.devstack.services.kafka import KafkaBroker, start_kafka_broker
from rendersync.devstack.services.temporal import TemporalDevServer, start_temporal_dev_server
from tests.support.postgres import PostgresServer, start_postgres

logger = logging.getLogger(__name__)

HOST = "127.0.0.1"
TOPIC = "rendersync.public.appconfigs"
REPO = Path(__file__).resolve().parent.parent
#: The processes that serve metrics on a port of their own.
_METERED = ("relay", "bridge", "worker")
_HOOK = """#!/bin/bash
while read -r old new ref; do
  printf '%s %s %s %s\\n' "$EPOCHREALTIME" "$old" "$new" "$ref" >> {log}
done
"""


@dataclass(frozen=True)
class StackSpec:
    """What to start: the rendersync processes, the sync targets, the backing stores (the
    running stack is then described by :meth:`Stack.description`)."""

    processes: tuple[str, ...] = PIPELINE
    targets: tuple[str, ...] = ("kubernetes", "git")
    temporal: bool = True
    temporal_db: str = "memory"
    database: str = "sqlite"
    #: Temporal worker processes on the task queue.
    workers: int = 1
    #: Further rendersync settings of every process, by variable name without the prefix.
    settings: tuple[tuple[str, str], ...] = ()


@dataclass
class Stack:
    run_dir: Path
    spec: StackSpec
    db_url: str
    engine: Engine
    broker: KafkaBroker
    emulator_url: str
    kubeconfig: Path
    remote: Path
    hook_log: Path
    emulator: ManagedProcess | None = None
    temporal: TemporalDevServer | None = None
    postgres: PostgresServer | None = None
    api_url: str = ""
    #: Bearer token of the load generator (an admin API token issued in the bench database).
    api_token: str = ""
    procs: dict[str, ManagedProcess] = field(default_factory=dict)

    def pids(self) -> dict[str, int]:
        """PID of every process the benchmark measures, by role."""
        found = {name: proc.pid for name, proc in self.procs.items() if proc.alive}
        found["kafka"] = self.broker.pid
        if self.emulator is not None:
            found["k8s-emulator"] = self.emulator.pid
        if self.temporal is not None:
            found["temporal"] = self.temporal.pid
        if self.postgres is not None:
            found["postgres"] = self.postgres.pid
        return found

    def description(self) -> StackDescription:
        """This stack as its rendersync processes see it; each call picks new metrics ports."""
        endpoints = Endpoints(
            db_url=self.db_url,
            kafka=self.broker.bootstrap_servers,
            temporal=None if self.temporal is None else self.temporal.address,
            kubeconfig=self.kubeconfig,
            git_remote=self.remote,
            git_workdir=self.run_dir / "git-work",
        )
        settings = {
            "KAFKA__TOPIC": TOPIC,
            "SYNC__TARGETS": json.dumps(list(self.spec.targets)),
            "API__MIGRATE_ON_START": "false",
            "LOG__LEVEL": "WARNING",
            **{f"METRICS__{role.upper()}_PORT": str(free_port(HOST)) for role in _METERED},
            **dict(self.spec.settings),
        }
        return StackDescription(endpoints, processes=self.spec.processes, settings=settings)

    def env(self, described: StackDescription) -> dict[str, str]:
        """The environment every process of the stack ``described`` gets."""
        env = described.child_env()
        # The bench package is not installed: its own processes import it from the checkout.
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
        return env

    def check_alive(self) -> None:
        """Raise with its last output if a process of the stack has exited."""
        for name, proc in self.procs.items():
            if not proc.alive:
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{proc.output_tail()}")

    def spawn(self, name: str, argv: Sequence[str], env: dict[str, str]) -> ManagedProcess:
        log = self.run_dir / "logs" / f"{name}.log"
        proc = ManagedProcess(argv, name=name, env=env, log_path=log, cwd=self.run_dir).start()
        self.procs[name] = proc
        return proc


def install_hook(remote: Path, log: Path) -> None:
    """A post-receive hook appending ``<epoch seconds> <old> <new> <ref>`` per pushed ref."""
    hook = remote / "hooks" / "post-receive"
    hook.write_text(_HOOK.format(log=log))
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def _git_remote(run_dir: Path) -> tuple[Path, Path]:
    remote = init_bare_repo(run_dir / "gitops.git")
    hook_log = run_dir / "pushes.log"
    hook_log.touch()
    install_hook(remote, hook_log)
    return remote, hook_log


async def _database(run_dir: Path, spec: StackSpec) -> tuple[str, PostgresServer | None]:
    if spec.database == "postgres":
        server = await start_postgres(log_path=run_dir / "logs" / "postgres.log")
        return server.create_database("rendersync"), server
    return f"sqlite:///{run_dir / 'rendersync.db'}", None


async def _emulator(run_dir: Path, port: int) -> ManagedProcess:
    argv = emulator_argv(host=HOST, port=port, kubeconfig=run_dir / "kubeconfig")
    proc = ManagedProcess(argv, name="k8s", log_path=run_dir / "logs" / "k8s.log").start()
    await wait_for_port(HOST, port, timeout_s=patient(60.0), process=proc)
    return proc


async def _temporal(run_dir: Path, spec: StackSpec) -> TemporalDevServer | None:
    if not spec.temporal:
        return None
    db_file = run_dir / "temporal.db" if spec.temporal_db == "sqlite" else None
    return await start_temporal_dev_server(
        headless=True,
        db_filename=db_file,
        log_path=run_dir / "logs" / "temporal.log",
        startup_timeout_s=patient(60.0),
    )


async def _all_started(cleanup: contextlib.AsyncExitStack, *starts: Awaitable[Any]) -> list[Any]:
    """Start services concurrently; every one that came up is stopped on exit, even if
    another failed to start."""
    results = await asyncio.gather(*starts, return_exceptions=True)
    for started in results:
        if started is not None and not isinstance(started, BaseException):
            cleanup.push_async_callback(started.astop)
    for started in results:
        if isinstance(started, BaseException):
            raise started
    return results


async def _start_services(
    run_dir: Path, spec: StackSpec, cleanup: contextlib.AsyncExitStack
) -> Stack:
    db_url, postgres = await _database(run_dir, spec)
    if postgres is not None:
        cleanup.push_async_callback(postgres.astop)
    engine = make_engine(db_url)
    cleanup.callback(engine.dispose)
    await asyncio.to_thread(upgrade, engine)
    token = await asyncio.to_thread(_load_token, engine)
    remote, hook_log = await asyncio.to_thread(_git_remote, run_dir)
    port = free_port(HOST)
    broker, emulator, temporal = await _all_started(
        cleanup,
        start_kafka_broker(
            log_path=run_dir / "logs" / "kafka.log", startup_timeout_s=patient(30.0)
        ),
        _emulator(run_dir, port),
        _temporal(run_dir, spec),
    )
    url = f"http://{HOST}:{port}"
    stack = Stack(
        run_dir, spec, db_url, engine, broker, url, run_dir / "kubeconfig", remote, hook_log
    )
    stack.emulator, stack.temporal, stack.postgres = emulator, temporal, postgres
    stack.api_token = token
    return stack


def _load_token(engine: Engine) -> str:
    """The load generator's token: the API authenticates as in production."""
    return issue_admin_token(engine, principal="bench", description="benchmark load")


async def _start_pipeline(stack: Stack) -> None:
    described = stack.description()
    env = stack.env(described)
    for name in described.processes:
        if name == "api":
            port = free_port(HOST)
            stack.spawn(name, rendersync_argv("api", "--host", HOST, "--port", str(port)), env)
            stack.api_url = f"http://{HOST}:{port}"
        elif name == "direct":
            stack.spawn(name, [sys.executable, "-m", "bench.baseline_direct"], env)
        elif name == "worker":
            workdir = Path(env["RENDERSYNC_GIT__WORKDIR"])
            for index, worker in enumerate(worker_names(stack.spec.workers)):
                own = worker_settings(index, metrics_port=free_port(HOST), git_workdir=workdir)
                own_env = {**env, **{f"RENDERSYNC_{k}": v for k, v in own.items()}}
                stack.spawn(worker, rendersync_argv("worker"), own_env)
        else:
            stack.spawn(name, rendersync_argv(name), env)
    if stack.api_url:
        port = int(stack.api_url.rsplit(":", 1)[1])
        await wait_for_port(HOST, port, timeout_s=patient(60.0), process=stack.procs["api"])


@contextlib.asynccontextmanager
async def running_stack(run_dir: Path, spec: StackSpec) -> AsyncIterator[Stack]:
    """Start everything ``spec`` asks for under ``run_dir``; stop it all on exit."""
    await asyncio.to_thread(run_dir.mkdir, parents=True, exist_ok=True)
    async with contextlib.AsyncExitStack() as cleanup:
        stack = await _start_services(run_dir, spec, cleanup)
        cleanup.push_async_callback(_stop_processes, stack)
        await _start_pipeline(stack)
        logger.info("stack up in %s: %s", run_dir, stack.pids())
        yield stack


async def _stop_processes(stack: Stack) -> None:
    for proc in reversed(list(stack.procs.values())):
        await proc.astop(grace_s=5.0)
