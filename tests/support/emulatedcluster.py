"""An emulated cluster for tests in this process: the project's API emulator with the
AppConfig CRD, a client of it and a namespace made in it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from kubernetes_asyncio import client

from k8s.client import make_api_client
from k8s.manifests import load_crd
from rendersync.devstack.k8semulator import Emulator, running_emulator


@asynccontextmanager
async def emulated_cluster(
    tmp_path: Path, namespace: str
) -> AsyncIterator[tuple[Emulator, client.ApiClient]]:
    """The emulator (its kubeconfig in ``tmp_path``) and a client of it, with ``namespace``
    made, until the block exits."""
    async with running_emulator(kubeconfig_out=tmp_path / "kubeconfig", crds=[load_crd()]) as emu:
        assert emu.kubeconfig_path is not None
        api = await make_api_client(kubeconfig=emu.kubeconfig_path, context=None)
        async with api:
            body = client.V1Namespace(metadata=client.V1ObjectMeta(name=namespace))
            await client.CoreV1Api(api).create_namespace(body)
            yield emu, api
