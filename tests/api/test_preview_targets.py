"""Previews per target: a ``?dryRun=All`` write is compared with each target the AppConfig
routes to, keyed by the target's name — each Kubernetes target's own cluster (an emulator,
and one that is unreachable) and each Git target at the path its layout places the key in
(a path template with ``{environment}``); targets it is not routed to are not asked."""

from __future__ import annotations

import os
import subprocess
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine

from api.web.app import create_app
from api.web.previewing import PreviewTargets
from gitops.layout import GitLayout
from k8s.applying import apply_appconfig
from k8s.client import make_api_client
from k8s.dryrun import ClusterDryRun
from k8s.manifests import load_crd, render_appconfig, render_yaml
from rendersync.devstack.k8semulator import running_emulator, write_kubeconfig
from rendersync.devstack.services.childprocesses import free_port
from rendersync.devstack.services.gitremote import init_bare_repo
from rendersync.gittip import GitTipReader
from rendersync.settings import Settings
from rendersync.wiring import preview_targets
from tests.api.test_preview import written
from tests.support.builders import body
from vocabulary.routing import Route

NS = "team-a"
BASE = f"/api/v1/namespaces/{NS}/appconfigs"
DRY = {"dryRun": "All"}
MERGE = {"content-type": "application/merge-patch+json"}
#: Apply order; gitops-prod places a key's file by its environment.
TARGETS = ("prod", "edge", "staging", "gitops-prod")
ROUTES = (
    Route(("prod", "edge", "gitops-prod"), environment="prod"),
    Route(("staging",), environment="staging"),
)
LAYOUT = GitLayout("envs/{environment}/{namespace}/{name}.yaml")


@pytest.fixture
def engine(sqlite_engine: Engine) -> Engine:
    """SQLite only: the write is the same on both databases (tests/api/test_preview.py)."""
    return sqlite_engine


def _git(cwd: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    identity = ("-c", "user.name=test", "-c", "user.email=test@localhost")
    done = subprocess.run(
        ["git", *identity, *args], cwd=cwd, env=env, check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def commit_file(remote: Path, work: Path, path: str, text: str) -> str:
    """Commit ``text`` at ``path`` on the remote's main branch; the new tip."""
    _git(remote.parent, "clone", "--quiet", str(remote), str(work))
    (work / path).parent.mkdir(parents=True, exist_ok=True)
    (work / path).write_text(text)
    _git(work, "add", path)
    _git(work, "commit", "--quiet", "-m", f"hold {path}")
    _git(work, "push", "--quiet", "origin", "HEAD:main")
    return _git(work, "rev-parse", "HEAD")


def cr(replicas: int, seq: int) -> dict[str, Any]:
    spec = {"app": "web", "environment": "prod", "replicas": replicas}
    spec |= {"data": {}, "featureFlags": {}, "secretRefs": []}  # as the API stores it
    return render_appconfig(namespace=NS, name="web", spec=spec, labels={}, annotations={}, seq=seq)


@dataclass
class Targets:
    api: httpx.AsyncClient
    commit: str


@pytest.fixture
async def targets(engine: Engine, tmp_path: Path) -> AsyncIterator[Targets]:
    """The API over four targets: ``prod`` an emulator holding ``team-a/web`` at 2 replicas,
    ``edge`` a cluster nobody listens for, ``staging`` without a client, ``gitops-prod`` a
    remote holding the key's file (2 replicas) at its environment's path."""
    remote = init_bare_repo(tmp_path / "remote.git")
    commit = commit_file(
        remote, tmp_path / "work", LAYOUT.file(NS, "web", "prod"), render_yaml(cr(2, 1))
    )
    edge = write_kubeconfig(tmp_path / "edge-kubeconfig", f"http://127.0.0.1:{free_port()}")
    async with running_emulator(kubeconfig_out=tmp_path / "prod-kubeconfig",
                                crds=[load_crd()]) as emulator:  # fmt: skip
        assert emulator.kubeconfig_path is not None
        kube = await make_api_client(kubeconfig=emulator.kubeconfig_path, context=None)
        try:
            await apply_appconfig(kube, cr=cr(2, 1))
        finally:
            await kube.close()
        previews = PreviewTargets(
            clusters={
                "prod": ClusterDryRun(kubeconfig=emulator.kubeconfig_path, context=None),
                "edge": ClusterDryRun(kubeconfig=edge, context=None, request_timeout_s=5),
            },
            tips={"gitops-prod": GitTipReader(remote=str(remote), branch="main", layout=LAYOUT)},
        )
        app = create_app(engine=engine, targets=TARGETS, routes=ROUTES, ui_url="http://ui",
                         previews=previews)  # fmt: skip
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as api:
            yield Targets(api, commit)


async def test_a_preview_compares_with_each_routed_target_by_name(
    targets: Targets, engine: Engine
) -> None:
    made = await targets.api.post(BASE, json=body("web", environment="prod", replicas=2))
    assert made.status_code == 201, made.text
    before = written(engine)

    answer = await targets.api.put(
        f"{BASE}/web", json=body("web", environment="prod", replicas=3), params=DRY
    )
    assert answer.status_code == 200, answer.text
    preview = answer.json()
    compared = preview["targets"]
    assert list(compared) == ["prod", "edge", "gitops-prod"], "routed targets, in apply order"

    prod = compared["prod"]
    assert (prod["kind"], prod["state"], prod["exists"]) == ("kubernetes", "Compared", True)
    changes = {c["path"]: c for c in prod["changes"]}
    assert (changes["spec.replicas"]["before"], changes["spec.replicas"]["after"]) == (2, 3)
    assert prod["resourceVersion"]

    edge = compared["edge"]
    assert (edge["kind"], edge["state"]) == ("kubernetes", "Unavailable")
    assert edge["message"]

    git = compared["gitops-prod"]
    assert (git["kind"], git["state"], git["exists"]) == ("git", "Compared", True)
    assert git["path"] == "envs/prod/team-a/web.yaml"
    assert git["commit"] == targets.commit
    assert {c["path"] for c in git["changes"]} == {
        "spec.replicas",
        'metadata.annotations["rendersync.dev/version"]',
    }
    assert "-  replicas: 2\n+  replicas: 3\n" in git["diff"]
    assert preview["rendered"]["gitPath"] == "envs/prod/team-a/web.yaml"
    assert written(engine) == before


async def test_a_preview_of_a_move_compares_with_the_targets_it_would_route_to(
    targets: Targets, engine: Engine
) -> None:
    made = await targets.api.post(BASE, json=body("web", environment="prod", replicas=2))
    assert made.status_code == 201, made.text
    before = written(engine)
    answer = await targets.api.patch(
        f"{BASE}/web", json={"spec": {"environment": "staging"}}, headers=MERGE, params=DRY
    )
    assert answer.status_code == 200, answer.text
    preview = answer.json()
    assert preview["targets"] == {
        "staging": {"state": "Unavailable", "message": "no client for target 'staging' in this "
                    "process"},
    }  # fmt: skip
    assert preview["rendered"]["gitPath"] is None
    assert written(engine) == before


def test_the_cli_builds_a_preview_client_per_configured_target(tmp_path: Path) -> None:
    settings = Settings.model_validate(
        {
            "targets": {
                "prod": {"kind": "kubernetes", "kubeconfig": str(tmp_path / "prod")},
                "edge": {"kind": "kubernetes", "kubeconfig": str(tmp_path / "edge")},
                "gitops-prod": {"kind": "git", "path": LAYOUT.path},
            },
        }
    )
    built = preview_targets(settings)
    assert {n: c.kubeconfig for n, c in built.clusters.items()} == {  # type: ignore[attr-defined]
        "prod": tmp_path / "prod",
        "edge": tmp_path / "edge",
    }
    (name, tip), *more = built.tips.items()
    assert (name, more) == ("gitops-prod", [])
    assert isinstance(tip, GitTipReader)
    assert tip.layout.file(NS, "web", "prod") == "envs/prod/team-a/web.yaml"
