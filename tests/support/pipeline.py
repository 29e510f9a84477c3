"""The whole pipeline in one test process: API, relay, bridge and worker as asyncio tasks
against the real broker, Temporal dev server, Kubernetes emulator and a bare Git remote."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import subprocess
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine
from temporalio.client import Client
from temporalio.worker import Worker

from activities.git import GitActivities, GitPlace
from activities.kubernetes import Cluster, KubernetesActivities
from activities.options import OptionsActivities
from activities.reporting import StatusActivities
from activities.webhooks import NotifyActivities, NotifyConfig
from api.web.app import create_app
from gitops.repository import GitRepository
from k8s.applying import read_appconfig
from k8s.client import make_api_client
from k8s.manifests import load_crd
from k8s.watching import watch_appconfigs
from persistence.db import make_engine
from persistence.migrating import upgrade
from rendersync.devstack.description import StackDescription
from rendersync.devstack.k8semulator import Emulator, running_emulator
from tests.support.stacks import shared_services_stack
from vocabulary import TARGET_GIT, TARGET_KUBERNETES
from worker.antientropy import run_anti_entropy
from worker.bridge import Bridge, BridgeConfig
from worker.driftrepair import DriftRepair
from worker.helperloops import HelperLoop, supervise
from worker.orphans import OrphanCollection
from worker.relay import RelayConfig, run_relay
from worker.signalling import Signaller
from worker.temporalworker import build_worker, served
from workflows.contracts import SyncOptions

FAST_RETRIES = SyncOptions(
    retry_initial_interval_s=0.2,
    retry_backoff=1.5,
    retry_max_interval_s=1.0,
    start_to_close_s=10,
)


@dataclass
class Pipeline:
    """Handles on every running part, and helpers to drive and observe them."""

    engine: Engine
    api: httpx.AsyncClient
    client: Client
    emulator: Emulator
    kube: Any
    remote: Path
    task_queue: str
    topic: str
    bootstrap: str
    options: SyncOptions
    workdir: Path
    #: The stack these parts run in (the RENDERSYNC_* variables a CLI against it needs).
    stack: StackDescription
    #: A namespace of its own: workflow ids are global on the shared Temporal server.
    ns: str = "default"
    #: The worker's webhook receivers (read at each notification).
    notify: NotifyConfig = field(default_factory=NotifyConfig)
    tasks: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    stops: dict[str, asyncio.Event] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return f"/api/v1/namespaces/{self.ns}/appconfigs"

    def start(self, name: str, run: Callable[[asyncio.Event], Coroutine[Any, Any, None]]) -> None:
        stop = asyncio.Event()
        self.stops[name] = stop
        self.tasks[name] = asyncio.create_task(run(stop), name=name)

    async def stop(self, name: str) -> None:
        self.stops[name].set()
        await asyncio.wait_for(self.tasks.pop(name), timeout=30)

    def start_relay(self) -> None:
        config = RelayConfig(
            db_url=str(self.engine.url.render_as_string(hide_password=False)),
            bootstrap_servers=self.bootstrap,
            topic=self.topic,
            partitions=3,
            poll_interval_s=0.05,
        )
        self.start("relay", lambda stop: run_relay(config, self.engine, stop=stop))

    def start_bridge(self, name: str = "bridge") -> None:
        config = BridgeConfig(
            bootstrap_servers=self.bootstrap,
            topic=self.topic,
            group_id=f"{self.topic}-bridge",
            dlq_topic=f"{self.topic}.dlq",
            session_timeout_ms=3000,  # the embedded broker rebalances in about one session
            heartbeat_interval_ms=200,
        )
        signaller = Signaller(self.client, task_queue=self.task_queue, options=self.options)
        self.start(name, lambda stop: Bridge(config, signaller, engine=self.engine).run(stop=stop))

    @functools.cached_property
    def repo(self) -> GitRepository:
        """The worker's one writer of the GitOps working clone."""
        return GitRepository(
            remote=str(self.remote),
            workdir=self.workdir,
            author_name="rendersync",
            author_email="rs@localhost",
        )

    def worker(self) -> Worker:
        kube = KubernetesActivities(self.clusters, self.engine)
        git = GitActivities(self.places, self.engine)
        status = StatusActivities(self.engine)
        options = OptionsActivities(lambda: self.options)
        notify = NotifyActivities(lambda: self.notify)
        return build_worker(
            self.client,
            task_queue=self.task_queue,
            graceful_shutdown_s=2,
            activities=served(kube, git, status, options, notify),
            kinds=[self.options.kind(t) for t in self.options.targets],
        )

    @functools.cached_property
    def clusters(self) -> dict[str, Cluster]:
        """The worker's one cluster (its API client, and what its activities wrote)."""
        return {TARGET_KUBERNETES: Cluster(self.kube)}

    @property
    def places(self) -> dict[str, GitPlace]:
        return {TARGET_GIT: GitPlace(self.repo)}

    def signaller(self) -> Signaller:
        return Signaller(self.client, task_queue=self.task_queue, options=self.options)

    def start_supervised(self, name: str, run: HelperLoop) -> None:
        """Start a helper loop as the worker does: supervised, with a short backoff."""
        self.start(
            name,
            lambda stop: supervise(name, run, stop=stop, backoff_initial_s=0.1, backoff_max_s=1.0),
        )

    def start_drift_repair(self) -> None:
        """Drift repair as the worker runs it: it knows what the activities wrote."""
        repair = DriftRepair(
            api=self.kube,
            engine=self.engine,
            signaller=self.signaller(),
            own_writes=self.clusters[TARGET_KUBERNETES].own_writes,
        )
        self.start_supervised("drift", lambda stop: repair.run(stop=stop))

    def start_anti_entropy(self, *, interval_s: float, grace_s: float) -> None:
        self.start_supervised(
            "anti-entropy",
            lambda stop: run_anti_entropy(
                engine=self.engine,
                signaller=self.signaller(),
                options=self.options,
                interval_s=interval_s,
                grace_s=grace_s,
                stop=stop,
            ),
        )

    def start_orphan_collection(self, *, interval_s: float, grace_s: float) -> None:
        collection = OrphanCollection(
            engine=self.engine,
            clusters=self.clusters,
            places=self.places,
            options=self.options,
            grace_s=grace_s,
        )
        self.start_supervised(
            "orphans", lambda stop: collection.run(interval_s=interval_s, stop=stop)
        )

    def start_worker(self) -> None:
        async def run(stop: asyncio.Event) -> None:
            async with self.worker():
                await stop.wait()

        self.start("worker", run)

    async def live_cr(self, name: str) -> dict[str, Any] | None:
        return await read_appconfig(self.kube, namespace=self.ns, name=name)

    async def converged(self, name: str, version: int) -> bool:
        """Both targets hold exactly ``version`` of ``name``."""
        cr = await self.live_cr(name)
        text = self.git_file(name)
        return (
            cr is not None
            and int(cr["metadata"]["annotations"]["rendersync.dev/version"]) == version
            and text is not None
            and version_in_yaml(text) == version
        )

    def git_file(self, name: str) -> str | None:
        namespace = self.ns
        result = subprocess.run(
            [
                "git",
                "--git-dir",
                str(self.remote),
                "show",
                f"main:appconfigs/{namespace}/{name}.yaml",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        return result.stdout if result.returncode == 0 else None

    def git_versions(self, name: str) -> list[int]:
        """Versions the file held in each commit touching it, oldest first."""
        path = f"appconfigs/{self.ns}/{name}.yaml"
        log = subprocess.run(
            [
                "git",
                "--git-dir",
                str(self.remote),
                "log",
                "--reverse",
                "--format=%H",
                "main",
                "--",
                path,
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        versions = []
        for sha in log:
            shown = subprocess.run(
                ["git", "--git-dir", str(self.remote), "show", f"{sha}:{path}"],
                capture_output=True,
                text=True,
                check=False,
            )
            if shown.returncode == 0:
                versions.append(version_in_yaml(shown.stdout))
        return versions


def version_in_yaml(text: str) -> int:
    for line in text.splitlines():
        if "rendersync.dev/version" in line:
            return int(line.split(":", 1)[1].strip().strip("'\""))
    raise AssertionError("no version annotation in file")


@contextlib.asynccontextmanager
async def pipeline(
    *,
    db_url: str,
    temporal_address: str,
    bootstrap: str,
    remote: Path,
    tmp_path: Path,
    options: SyncOptions = FAST_RETRIES,
    start: bool = True,
) -> AsyncIterator[Pipeline]:
    suffix = uuid.uuid4().hex[:10]
    described = shared_services_stack(
        db_url=db_url,
        kafka=bootstrap,
        temporal=temporal_address,
        remote=remote,
        run_dir=tmp_path,
        suffix=suffix,
    ).with_settings({"TEMPORAL__UI_URL": "http://ui.test"})
    settings = described.to_settings()
    engine = make_engine(settings.db.url)
    upgrade(engine)
    client = await Client.connect(settings.temporal.address)
    kubeconfig = described.endpoints.kubeconfig
    async with running_emulator(kubeconfig_out=kubeconfig, crds=[load_crd()]) as emu:
        kube = await make_api_client(kubeconfig=kubeconfig, context=None)
        app = create_app(engine=engine, targets=options.targets, ui_url=settings.temporal.ui_url)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as api:
            pipe = Pipeline(
                engine=engine,
                api=api,
                client=client,
                emulator=emu,
                kube=kube,
                remote=remote,
                task_queue=settings.temporal.task_queue,
                topic=settings.kafka.topic,
                bootstrap=settings.kafka.bootstrap_servers,
                options=replace(options),
                workdir=settings.git.workdir,
                stack=described,
                ns=f"t-{suffix}",
            )
            if start:
                pipe.start_relay()
                pipe.start_bridge()
                pipe.start_worker()
            try:
                yield pipe
            finally:
                for name in list(pipe.tasks):
                    await pipe.stop(name)
                await kube.close()
    engine.dispose()


@dataclass
class VersionLog:
    """Every version each CR of a namespace held, in the order the emulator's watch saw."""

    seen: dict[str, list[int]] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)

    def record(self, kind: str, obj: dict[str, Any]) -> None:
        name = obj["metadata"]["name"]
        if kind == "DELETED":
            self.deleted[name] = self.deleted.get(name, 0) + 1
            return
        version = int(obj["metadata"].get("annotations", {}).get("rendersync.dev/version", 0))
        history = self.seen.setdefault(name, [])
        if not history or history[-1] != version:
            history.append(version)


@contextlib.asynccontextmanager
async def watching(kube: Any, namespace: str) -> AsyncIterator[VersionLog]:
    """Record the versions the emulator's objects in ``namespace`` hold, through a real watch."""
    log = VersionLog()
    started = asyncio.Event()

    async def run() -> None:
        async for event in watch_appconfigs(kube, namespace=namespace, timeout_s=30):
            log.record(event.type, event.object)
            started.set()

    task = asyncio.create_task(run())
    try:
        yield log
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def assert_non_decreasing(versions: list[int], what: str) -> None:
    assert versions == sorted(versions), f"{what} went back to an older version: {versions}"
