"""Recovery tests run relay, bridge and worker as real processes, so they can be killed.

The API runs in the test process; the Kubernetes emulator too (it must outlive the killed
processes); Temporal is a dev server of the test's own, with its history in a file so it can
be restarted.
"""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import Engine
from temporalio.client import Client

from api.web.app import create_app
from k8s.client import make_api_client
from k8s.manifests import load_crd
from persistence.db import make_engine
from persistence.migrating import upgrade
from rendersync.devstack.description import rendersync_argv
from rendersync.devstack.k8semulator import Emulator, running_emulator
from rendersync.devstack.services.childprocesses import ManagedProcess
from rendersync.devstack.services.temporal import TemporalDevServer, start_temporal_dev_server
from tests.support.stacks import process_stack


@dataclass
class Stack:
    env: dict[str, str]
    logs: Path
    engine: Engine
    api: httpx.AsyncClient
    emulator: Emulator
    kube: Any
    remote: Path
    ns: str
    temporal: TemporalDevServer
    temporal_db: Path
    procs: dict[str, ManagedProcess] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"/api/v1/namespaces/{self.ns}/appconfigs"

    def start(self, name: str) -> ManagedProcess:
        argv = rendersync_argv(name)
        proc = ManagedProcess(argv, name=name, env=self.env, log_path=self.logs / f"{name}.log")
        self.procs[name] = proc.start()
        return proc

    async def temporal_client(self) -> Client:
        return await Client.connect(self.temporal.address)

    def kill(self, name: str) -> None:
        """SIGKILL: no shutdown code runs, as when a node dies."""
        proc = self.procs.pop(name)
        os.kill(proc.pid, signal.SIGKILL)
        proc.stop(grace_s=5)

    async def restart_temporal(self) -> None:
        address = self.temporal.address
        await self.temporal.astop()
        port = int(address.rsplit(":", 1)[1])
        self.temporal = await start_temporal_dev_server(
            port=port,
            headless=True,
            db_filename=self.temporal_db,
            log_path=self.logs / "temporal.log",
        )

    def stop_all(self) -> None:
        for proc in self.procs.values():
            proc.stop(grace_s=10)
        self.procs.clear()


@pytest.fixture
def temporal_db(tmp_path: Path) -> Path:
    return tmp_path / "temporal.db"


@pytest_asyncio.fixture
async def stack(
    sqlite_url: str, kafka_broker: str, git_remote: Path, tmp_path: Path, temporal_db: Path
) -> AsyncIterator[Stack]:
    logs = tmp_path / "logs"
    temporal = await start_temporal_dev_server(
        headless=True, db_filename=temporal_db, log_path=logs / "temporal.log"
    )
    engine = make_engine(sqlite_url)
    upgrade(engine)
    suffix = uuid.uuid4().hex[:10]
    described = process_stack(
        db_url=sqlite_url,
        kafka=kafka_broker,
        temporal=temporal.address,
        remote=git_remote,
        run_dir=tmp_path,
        suffix=suffix,
    )
    kubeconfig = described.endpoints.kubeconfig
    app = create_app(engine=engine, targets=("kubernetes", "git"), ui_url="http://ui")
    transport = httpx.ASGITransport(app=app)
    async with (
        running_emulator(kubeconfig_out=kubeconfig, crds=[load_crd()]) as emu,
        httpx.AsyncClient(transport=transport, base_url="http://api") as api,
    ):
        kube = await make_api_client(kubeconfig=kubeconfig, context=None)
        stack = Stack(
            env=described.child_env(),
            logs=logs,
            engine=engine,
            api=api,
            emulator=emu,
            kube=kube,
            remote=git_remote,
            ns=f"r-{suffix}",
            temporal=temporal,
            temporal_db=temporal_db,
        )
        try:
            yield stack
        finally:
            stack.stop_all()
            await kube.close()
            await stack.temporal.astop()
            engine.dispose()
