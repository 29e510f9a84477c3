"""The stack description: the environment it gives child processes and the Settings they read
from it agree, for the dev stack and the test stacks, without touching ``os.environ``."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from rendersync.devstack.description import Endpoints, StackDescription
from rendersync.devstack.stack import DevConfig, Ports, dev_stack, pipeline_specs
from rendersync.settings import GitTargetSettings, KubernetesTargetSettings, settings_from_env
from rendersync.statedir import settings_for, write_endpoints
from tests.support.stacks import process_stack
from vocabulary.routing import routed

PORTS = Ports(
    api=18000,
    temporal=17233,
    temporal_ui=18233,
    kafka=19092,
    k8s=16443,
    k8s_prod=16444,
    relay_metrics=19101,
    bridge_metrics=19102,
    worker_metrics=19103,
)


def test_the_dev_stack_points_every_process_at_its_services(tmp_path: Path) -> None:
    config = DevConfig(state_dir=tmp_path)
    described = dev_stack(config, PORTS)

    settings = described.to_settings(base={})

    assert settings.db.url == f"sqlite:///{tmp_path / 'rendersync.db'}"
    assert settings.kafka.bootstrap_servers == "127.0.0.1:19092"
    assert settings.temporal.address == "127.0.0.1:17233"
    assert settings.temporal.ui_url == "http://127.0.0.1:18233"
    assert settings.kubernetes.kubeconfig == tmp_path / "kubeconfig"
    assert settings.git.remote == str(tmp_path / "gitops.git")
    assert settings.git.workdir == tmp_path / "git-work"
    assert (settings.api.host, settings.api.port) == ("127.0.0.1", 18000)
    ports = settings.metrics
    assert (ports.relay_port, ports.bridge_port, ports.worker_port) == (19101, 19102, 19103)
    assert settings.auth.metrics_public is True


def test_the_dev_stack_passes_the_callers_settings_on_under_its_own(tmp_path: Path) -> None:
    described = dev_stack(DevConfig(state_dir=tmp_path), PORTS)
    caller = {"RENDERSYNC_SYNC__WORKER_GRACE_S": "2", "RENDERSYNC_API__PORT": "1", "HOME": "/h"}

    env = described.child_env(base=caller)

    assert env["RENDERSYNC_SYNC__WORKER_GRACE_S"] == "2"
    assert env["RENDERSYNC_API__PORT"] == "18000"
    assert env["HOME"] == "/h"


def test_a_test_stack_drops_the_callers_rendersync_settings(tmp_path: Path) -> None:
    described = process_stack(
        db_url="sqlite:///x.db",
        kafka="127.0.0.1:1",
        temporal="127.0.0.1:2",
        remote=tmp_path / "remote.git",
        run_dir=tmp_path,
        suffix="abc",
    )

    env = described.child_env(base={"RENDERSYNC_KAFKA__TOPIC": "other", "PATH": "/bin"})
    settings = described.to_settings(base={"RENDERSYNC_KAFKA__TOPIC": "other"})

    assert env["PATH"] == "/bin"
    assert env["RENDERSYNC_KAFKA__TOPIC"] == "rs-abc"
    assert settings.kafka.topic == settings.kafka.consumer_group == "rs-abc"
    assert settings.temporal.task_queue == "rs-abc"
    assert settings.sync.worker_grace_s == 2
    assert settings.kubernetes.kubeconfig == tmp_path / "kubeconfig"


def test_settings_later_given_win_over_the_endpoints(tmp_path: Path) -> None:
    endpoints = Endpoints(
        db_url="sqlite:///a.db",
        kafka="k:1",
        kubeconfig=tmp_path / "kc",
        git_remote=tmp_path / "r.git",
        git_workdir=tmp_path / "w",
    )
    described = StackDescription(endpoints).with_settings({"DB__URL": "sqlite:///b.db"})

    assert described.to_settings(base={}).db.url == "sqlite:///b.db"
    assert "RENDERSYNC_TEMPORAL__ADDRESS" not in described.rendersync_env()


def test_settings_from_an_environment_leave_os_environ_alone(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("RENDERSYNC_KAFKA__TOPIC", "from-the-process")
    before = dict(os.environ)
    write_endpoints(tmp_path, env={"RENDERSYNC_KAFKA__TOPIC": "recorded"}, urls={})

    assert settings_from_env({"RENDERSYNC_KAFKA__TOPIC": "given"}).kafka.topic == "given"
    assert settings_for(tmp_path).kafka.topic == "recorded"
    assert dict(os.environ) == before


def test_several_dev_workers_get_their_own_port_and_clone_and_one_runs_the_helper_loops(
    tmp_path: Path,
) -> None:
    config = DevConfig(state_dir=tmp_path, workers=3)
    ports = dataclasses.replace(PORTS, more_worker_metrics=(19201, 19202))
    described = dev_stack(config, ports)

    specs = {s.name: s for s in pipeline_specs(config, ports, worker_grace_s=1.0)}
    workers = [specs[name] for name in ("worker", "worker-2", "worker-3")]
    read = [settings_from_env({**described.child_env(base={}), **s.env}) for s in workers]

    assert set(specs) == {"relay", "bridge", "worker", "worker-2", "worker-3"}
    assert [s.ready_port for s in workers] == [19103, 19201, 19202]
    assert [r.metrics.worker_port for r in read] == [19103, 19201, 19202]
    assert len({r.git.workdir for r in read}) == 3
    assert read[0].git.workdir == tmp_path / "git-work"
    overlay_clones = [{t.workdir for t in _git_targets(r.targets)} for r in read]
    assert overlay_clones == [{r.git.workdir} for r in read], (
        "each worker's overlays share its clone"
    )
    first, *others = read
    assert first.sync.drift_repair
    assert first.sync.resync_interval_s > 0
    assert first.sync.orphan_interval_s > 0
    for other in others:
        assert not other.sync.drift_repair
        assert other.sync.resync_interval_s == 0
        assert other.sync.orphan_interval_s == 0
        assert other.temporal.task_queue == first.temporal.task_queue


def _git_targets(targets: object) -> list[GitTargetSettings]:
    assert isinstance(targets, dict)
    return [t for t in targets.values() if isinstance(t, GitTargetSettings)]


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ("dev", ("dev", "gitops-dev")),
        ("staging", ("dev", "gitops-staging")),
        ("prod", ("prod", "gitops-prod")),
    ],
)
def test_the_dev_stack_routes_each_environment_to_its_cluster_and_overlay(
    tmp_path: Path, environment: str, expected: tuple[str, ...]
) -> None:
    settings = dev_stack(DevConfig(state_dir=tmp_path), PORTS).to_settings(base={})

    targets = settings.target_order()
    decided = routed(
        targets, settings.route_rules(), environment=environment, namespace="shop", labels={}
    )

    assert decided == expected
    assert targets == ["dev", "prod", "gitops-dev", "gitops-staging", "gitops-prod"]


def test_the_dev_stacks_clusters_are_contexts_of_one_kubeconfig_and_overlays_one_repository(
    tmp_path: Path,
) -> None:
    settings = dev_stack(DevConfig(state_dir=tmp_path), PORTS).to_settings(base={})
    configured = settings.configured_targets()

    clusters = [t for t in configured.values() if isinstance(t, KubernetesTargetSettings)]
    assert [(t.kubeconfig, t.context) for t in clusters] == [
        (tmp_path / "kubeconfig", "dev"),
        (tmp_path / "kubeconfig", "prod"),
    ]
    overlays = {name: t for name, t in configured.items() if isinstance(t, GitTargetSettings)}
    assert {t.remote for t in overlays.values()} == {str(tmp_path / "gitops.git")}
    assert {n: (t.path, t.kustomization) for n, t in overlays.items()} == {
        f"gitops-{env}": (
            f"clusters/{env}/appconfigs/{{namespace}}/{{name}}.yaml",
            f"clusters/{env}",
        )
        for env in ("dev", "staging", "prod")
    }
