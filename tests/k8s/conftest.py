"""Fixtures for the Kubernetes layer: an emulator per test, or a real cluster on request.

``--real-cluster`` (or ``RENDERSYNC_REAL_CLUSTER=1``) runs the tests marked ``realcluster``
against the cluster ``KUBECONFIG`` points to, with the AppConfig CRD installed there; tests
that need emulator internals (fault injection, a tiny watch window) are then skipped.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from kubernetes_asyncio import client

from k8s.client import make_api_client
from k8s.manifests import load_crd
from rendersync.devstack.k8semulator import Emulator, running_emulator

#: Small, so tests reach "410 Gone" after a few dozen writes.
EVENT_WINDOW = 50


def pytest_addoption(parser: pytest.Parser) -> None:
    # Already registered when a conftest higher up declares it too.
    with contextlib.suppress(ValueError):
        parser.addoption(
            "--real-cluster",
            action="store_true",
            default=False,
            help="run realcluster-marked Kubernetes tests against the KUBECONFIG cluster",
        )


def real_cluster(config: pytest.Config) -> bool:
    flag = bool(config.getoption("--real-cluster", default=False))
    return flag or os.environ.get("RENDERSYNC_REAL_CLUSTER") == "1"


@dataclass
class Cluster:
    api: client.ApiClient
    namespace: str
    #: None when running against a real cluster.
    emulator: Emulator | None


@pytest.fixture
async def emulator(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Emulator]:
    if real_cluster(request.config):
        pytest.skip("needs the emulator's internals")
    async with running_emulator(
        kubeconfig_out=tmp_path / "kubeconfig", crds=[load_crd()], event_window=EVENT_WINDOW
    ) as emu:
        yield emu


@pytest.fixture
async def cluster(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Cluster]:
    """An API client and a fresh namespace, on the emulator or (opt-in) a real cluster."""
    if real_cluster(request.config):
        kubeconfig = Path(os.environ.get("KUBECONFIG", str(Path.home() / ".kube/config")))
        api = await make_api_client(kubeconfig=kubeconfig, context=None)
        async with api:
            real = await _with_namespace(api, None)
            yield real
            await client.CoreV1Api(api).delete_namespace(real.namespace)
        return
    async with running_emulator(
        kubeconfig_out=tmp_path / "kubeconfig", crds=[load_crd()], event_window=EVENT_WINDOW
    ) as emu:
        api = await make_api_client(kubeconfig=emu.kubeconfig_path, context=None)
        async with api:
            yield await _with_namespace(api, emu)


async def _with_namespace(api: client.ApiClient, emu: Emulator | None) -> Cluster:
    name = f"rs-test-{uuid.uuid4().hex[:8]}"
    namespace = client.V1Namespace(metadata=client.V1ObjectMeta(name=name))
    await client.CoreV1Api(api).create_namespace(namespace)
    return Cluster(api, name, emu)


@pytest.fixture
async def api(emulator: Emulator) -> AsyncIterator[client.ApiClient]:
    assert emulator.kubeconfig_path is not None
    made = await make_api_client(kubeconfig=emulator.kubeconfig_path, context=None)
    async with made:
        yield made
