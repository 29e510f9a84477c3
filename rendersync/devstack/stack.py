"""What ``rendersync dev`` runs: its state directory layout, ports, child commands and stack.

Pure data: nothing here starts a process. The rendersync processes are configured only
through ``RENDERSYNC_*`` variables (:func:`dev_stack`); everything else in the caller's
environment, including other ``RENDERSYNC_*`` settings, passes through to them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from rendersync.devstack.description import (
    PIPELINE,
    Endpoints,
    StackDescription,
    emulator_argv,
    rendersync_argv,
    worker_names,
    worker_settings,
)
from rendersync.devstack.environments import CLUSTERS, dev_routes, dev_targets

#: Stop tiers: the highest tier stops first (rendersync processes, then the emulator,
#: the broker, Temporal).
TIER_TEMPORAL, TIER_KAFKA, TIER_EMULATOR, TIER_RENDERSYNC = 0, 1, 2, 3


@dataclass(frozen=True)
class DevConfig:
    """The ``rendersync dev`` flags. ``state_dir`` is absolute."""

    state_dir: Path
    host: str = "127.0.0.1"
    api_port: int = 8000
    temporal_port: int = 7233
    temporal_ui_port: int = 8233
    kafka_port: int = 9092
    k8s_port: int = 6443
    k8s_prod_port: int = 6444
    startup_timeout_s: float = 120.0
    #: Temporal worker processes on the task queue (``--workers``; the CLI's default: the
    #: machine's cores).
    workers: int = 1

    @property
    def db_file(self) -> Path:
        return self.state_dir / "rendersync.db"

    @property
    def temporal_db(self) -> Path:
        return self.state_dir / "temporal.db"

    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig"

    @property
    def gitops(self) -> Path:
        return self.state_dir / "gitops.git"

    @property
    def git_work(self) -> Path:
        return self.state_dir / "git-work"


@dataclass(frozen=True)
class Ports:
    """Every port the stack listens on; the metrics ports are chosen at start."""

    api: int
    temporal: int
    temporal_ui: int
    kafka: int
    k8s: int
    k8s_prod: int
    relay_metrics: int
    bridge_metrics: int
    worker_metrics: int
    #: The metrics ports of the second and later workers.
    more_worker_metrics: tuple[int, ...] = ()

    def worker_metrics_ports(self) -> tuple[int, ...]:
        """The metrics port of every worker, the first one's first."""
        return (self.worker_metrics, *self.more_worker_metrics)

    def cluster_ports(self) -> dict[str, int]:
        """The port of each emulated cluster, by name (``environments.CLUSTERS``)."""
        return dict(zip(CLUSTERS, (self.k8s, self.k8s_prod), strict=True))


@dataclass(frozen=True)
class ChildSpec:
    """How to start one child and how to tell it is up.

    Ready means ``ready_url`` answers 200 or, without one, ``ready_port`` accepts
    connections. ``restartable`` children are restarted with backoff when they die.
    """

    name: str
    argv: tuple[str, ...]
    tier: int
    ready_url: str | None = None
    ready_port: int | None = None
    ready_host: str = "127.0.0.1"
    restartable: bool = False
    stop_grace_s: float = 15.0
    #: Variables this child gets on top of the stack's environment.
    env: Mapping[str, str] = field(default_factory=dict)


def dev_stack(config: DevConfig, ports: Ports) -> StackDescription:
    """The stack ``rendersync dev`` runs: every endpoint on ``config.host``, the caller's own
    ``RENDERSYNC_*`` settings passed on under the stack's."""
    host = config.host
    endpoints = Endpoints(
        db_url=f"sqlite:///{config.db_file}",
        kafka=f"{host}:{ports.kafka}",
        temporal=f"{host}:{ports.temporal}",
        kubeconfig=config.kubeconfig,
        git_remote=config.gitops,
        git_workdir=config.git_work,
    )
    settings = {
        "TEMPORAL__UI_URL": f"http://{host}:{ports.temporal_ui}",
        "API__HOST": host,
        "API__PORT": str(ports.api),
        "METRICS__HOST": host,
        "METRICS__RELAY_PORT": str(ports.relay_metrics),
        "METRICS__BRIDGE_PORT": str(ports.bridge_metrics),
        "METRICS__WORKER_PORT": str(ports.worker_metrics),
        # The API authenticates as in production (admin token in <state-dir>/admin-token);
        # its metrics stay readable from the browser, as the other processes' are.
        "AUTH__METRICS_PUBLIC": "true",
        "TARGETS": _targets_json(config, workdir=config.git_work),
        "ROUTES": json.dumps(dev_routes()),
    }
    return StackDescription(endpoints, processes=PIPELINE, settings=settings, inherit=True)


def _targets_json(config: DevConfig, *, workdir: Path) -> str:
    """``RENDERSYNC_TARGETS`` of a process whose Git clone is ``workdir``."""
    targets = dev_targets(kubeconfig=config.kubeconfig, remote=config.gitops, workdir=workdir)
    return json.dumps(targets)


def cluster_urls(config: DevConfig, ports: Ports) -> dict[str, str]:
    """The API server URL of each emulated cluster, by name (its kubeconfig context)."""
    return {name: f"http://{config.host}:{port}" for name, port in ports.cluster_ports().items()}


def emulator_specs(config: DevConfig, ports: Ports) -> list[ChildSpec]:
    """One emulator per cluster, ``emulator-<cluster>``. None writes a kubeconfig: the stack
    writes one with a context per cluster once all of them answer."""
    specs = []
    for name, port in ports.cluster_ports().items():
        argv = emulator_argv(host=config.host, port=port)
        # The CRD's group answering means the emulator serves and the CRD is installed.
        url = f"http://{config.host}:{port}/apis/rendersync.dev/v1alpha1"
        specs.append(ChildSpec(f"emulator-{name}", argv, TIER_EMULATOR, ready_url=url))
    return specs


def api_spec(config: DevConfig, ports: Ports) -> ChildSpec:
    url = f"http://{config.host}:{ports.api}/readyz"
    return ChildSpec("api", rendersync_argv("api"), TIER_RENDERSYNC, url, restartable=True)


def pipeline_specs(config: DevConfig, ports: Ports, *, worker_grace_s: float) -> list[ChildSpec]:
    """relay, bridge and the workers; each is up once its metrics endpoint listens."""

    def spec(name: str, port: int, grace: float, env: Mapping[str, str]) -> ChildSpec:
        argv = rendersync_argv("worker" if name.startswith("worker") else name)
        return ChildSpec(
            name,
            argv,
            TIER_RENDERSYNC,
            ready_port=port,
            ready_host=config.host,
            restartable=True,
            stop_grace_s=grace,
            env=env,
        )

    specs = [
        spec("relay", ports.relay_metrics, 15.0, {}),
        spec("bridge", ports.bridge_metrics, 15.0, {}),
    ]
    for index, (name, port) in enumerate(
        zip(worker_names(config.workers), ports.worker_metrics_ports(), strict=True)
    ):
        own = worker_settings(index, metrics_port=port, git_workdir=config.git_work)
        own["TARGETS"] = _targets_json(config, workdir=Path(own["GIT__WORKDIR"]))
        # A worker lets running activities finish first.
        env = {f"RENDERSYNC_{key}": value for key, value in own.items()}
        specs.append(spec(name, port, worker_grace_s + 5.0, env))
    return specs


def stack_urls(config: DevConfig, ports: Ports, *, namespace: str) -> dict[str, str]:
    """Every endpoint of the stack, by name (recorded in endpoints.json and printed)."""
    host = config.host
    api = f"http://{host}:{ports.api}"
    return {
        "api": api,
        "api_docs": f"{api}/docs",
        "console": f"{api}/ui/",
        "appconfigs": f"{api}/api/v1/appconfigs",
        "temporal": f"{host}:{ports.temporal}",
        "temporal_ui": f"http://{host}:{ports.temporal_ui}/namespaces/{namespace}/workflows",
        "kafka": f"{host}:{ports.kafka}",
        **{f"kubernetes_{name}": url for name, url in cluster_urls(config, ports).items()},
        "git_remote": str(config.gitops),
        "metrics_api": f"{api}/metrics",
        "metrics_relay": f"http://{host}:{ports.relay_metrics}/metrics",
        "metrics_bridge": f"http://{host}:{ports.bridge_metrics}/metrics",
        "metrics_worker": f"http://{host}:{ports.worker_metrics}/metrics",
        **{
            f"metrics_worker_{index}": f"http://{host}:{port}/metrics"
            for index, port in enumerate(ports.more_worker_metrics, start=2)
        },
    }
