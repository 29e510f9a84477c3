"""Fixtures for the activities: a migrated database holding the rows that decide, the
Kubernetes emulator with a namespace, a bare Git remote, and the activity classes built
around them as the worker builds them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from kubernetes_asyncio import client
from sqlalchemy import Engine

from activities.git import GitActivities, GitPlace
from activities.kubernetes import Cluster, KubernetesActivities
from gitops.repository import GitRepository
from k8s.applying import read_appconfig
from persistence import syncstatus, writing
from persistence.reading import get_row
from persistence.tables import AppConfigRow
from rendersync.devstack.k8semulator import Emulator
from tests.gitops.conftest import install_hook
from tests.support.emulatedcluster import emulated_cluster
from vocabulary import TARGET_GIT, TARGET_KUBERNETES
from workflows.contracts import AppConfigImage, ApplyRequest, DeleteRequest

SPEC = {"app": "web", "environment": "dev", "replicas": 1}


@dataclass
class Rows:
    """The appconfigs rows of one namespace, written as the API writes them."""

    engine: Engine
    namespace: str

    def create(self, name: str, *, replicas: int = 1) -> AppConfigRow:
        return writing.create_appconfig(
            self.engine, namespace=self.namespace, name=name, content=_content(replicas),
            actor="test",
        )  # fmt: skip

    def update(self, name: str, *, replicas: int) -> AppConfigRow:
        return writing.update_appconfig(
            self.engine, namespace=self.namespace, name=name, content=_content(replicas),
            expected_version=None, actor="test",
        )  # fmt: skip

    def delete(self, name: str) -> AppConfigRow:
        return writing.delete_appconfig(
            self.engine, namespace=self.namespace, name=name, expected_version=None, actor="test"
        )

    def finish_delete(self, tombstone: AppConfigRow) -> None:
        """What the compensation's last step does: clean the status, purge the tombstone."""
        syncstatus.finish_delete(
            self.engine, namespace=self.namespace, name=tombstone.name, version=tombstone.seq
        )

    def get(self, name: str) -> AppConfigRow | None:
        return get_row(self.engine, namespace=self.namespace, name=name)

    def applied(self, name: str, target: str) -> int:
        """The version ``sync_status`` says ``target`` holds (0 when nothing is recorded)."""
        for row in syncstatus.list_status(self.engine, namespace=self.namespace):
            if row.name == name and row.target == target:
                return row.applied_version
        return 0


def _content(replicas: int) -> writing.Content:
    return writing.Content(spec={**SPEC, "replicas": replicas}, labels={}, annotations={})


def apply_request(row: AppConfigRow) -> ApplyRequest:
    image = AppConfigImage(
        namespace=row.namespace, name=row.name, uid=row.uid, seq=row.seq,
        generation=row.generation, spec=dict(row.spec), labels=dict(row.labels),
        annotations=dict(row.annotations),
    )  # fmt: skip
    return ApplyRequest(image=image)


def delete_request(tombstone: AppConfigRow) -> DeleteRequest:
    return DeleteRequest(namespace=tombstone.namespace, name=tombstone.name, seq=tombstone.seq)


@pytest.fixture
def engine(sqlite_engine: Engine) -> Engine:
    return sqlite_engine


@pytest.fixture
def namespace() -> str:
    return f"rs-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def rows(engine: Engine, namespace: str) -> Rows:
    return Rows(engine, namespace)


@dataclass
class Kube:
    api: client.ApiClient
    emulator: Emulator
    namespace: str
    activities: KubernetesActivities

    async def live(self, name: str) -> dict[str, Any] | None:
        return await read_appconfig(self.api, namespace=self.namespace, name=name)


@pytest.fixture
async def kube(tmp_path: Path, engine: Engine, namespace: str) -> AsyncIterator[Kube]:
    async with emulated_cluster(tmp_path, namespace) as (emu, api):
        made = KubernetesActivities({TARGET_KUBERNETES: Cluster(api)}, engine)
        yield Kube(api, emu, namespace, made)


def clone(remote: Path, workdir: Path) -> GitRepository:
    """A worker's working clone of ``remote``."""
    return GitRepository(
        remote=str(remote), workdir=workdir, author_name="rendersync", author_email="rs@localhost"
    )


@pytest.fixture
def git_activities(git_remote: Path, tmp_path: Path, engine: Engine) -> GitActivities:
    return GitActivities({TARGET_GIT: GitPlace(clone(git_remote, tmp_path / "work"))}, engine)


@dataclass
class PushGate:
    """Holds the first push to the remote in its pre-receive hook until opened, so the writer
    pushing keeps the repository lock and every later writer of that clone queues behind it."""

    entered_marker: Path
    gate: Path

    def entered(self) -> bool:
        return self.entered_marker.exists()

    def open(self) -> None:
        self.gate.touch()


@pytest.fixture
def push_gate(git_remote: Path, tmp_path: Path) -> Iterator[PushGate]:
    held = PushGate(tmp_path / "push-entered", tmp_path / "push-gate")
    # Bounded, so a failing test never leaves the hook (and the writer) waiting for good.
    body = "\n".join([
        f'touch "{held.entered_marker}"',
        "i=0",
        f'while [ ! -e "{held.gate}" ] && [ "$i" -lt 600 ]; do sleep 0.05; i=$((i+1)); done',
    ])  # fmt: skip
    install_hook(git_remote, "pre-receive", body, once=tmp_path / "push-held-once")
    yield held
    held.open()
