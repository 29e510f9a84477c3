"""The pipeline with two named Kubernetes targets, each its own emulator, routed by
environment: ``dev`` goes to ``nonprod``, ``staging`` to both, ``prod`` to ``prod``."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from activities.git import GitPlace
from activities.kubernetes import Cluster
from k8s.applying import read_appconfig
from k8s.client import make_api_client
from k8s.manifests import load_crd
from rendersync.devstack.k8semulator import Emulator, running_emulator
from tests.support.pipeline import FAST_RETRIES, Pipeline, pipeline
from vocabulary.routing import Route

NONPROD = "nonprod"
PROD = "prod"
ROUTES = (
    {"environment": "dev", "targets": [NONPROD]},
    {"environment": "staging", "targets": [NONPROD, PROD]},
    {"environment": "prod", "targets": [PROD]},
)
TWO_CLUSTERS = replace(
    FAST_RETRIES,
    targets=(NONPROD, PROD),
    target_kinds={NONPROD: "kubernetes", PROD: "kubernetes"},
    routes=tuple(Route(tuple(r["targets"]), environment=str(r["environment"])) for r in ROUTES),
)


@dataclass
class TwoClusters(Pipeline):
    """The pipeline whose worker syncs to ``nonprod`` (the pipeline's own emulator, ``kube``)
    and ``prod`` (a second emulator); no Git target."""

    prod_emulator: Emulator | None = None
    prod_kube: Any = None
    #: Stops the ``prod`` emulator (its API server goes away; the worker keeps its client).
    _prod_stack: contextlib.AsyncExitStack = field(default_factory=contextlib.AsyncExitStack)

    @property
    def clusters(self) -> dict[str, Cluster]:
        return {NONPROD: Cluster(self.kube), PROD: Cluster(self.prod_kube)}

    @property
    def places(self) -> dict[str, GitPlace]:
        return {}

    def api_of(self, target: str) -> Any:
        return self.kube if target == NONPROD else self.prod_kube

    def emulator_of(self, target: str) -> Emulator:
        emulator = self.emulator if target == NONPROD else self.prod_emulator
        assert emulator is not None
        return emulator

    async def cr_on(self, target: str, name: str) -> dict[str, Any] | None:
        return await read_appconfig(self.api_of(target), namespace=self.ns, name=name)

    async def version_on(self, target: str, name: str) -> int:
        """The version of ``name`` the target's cluster holds (0: none)."""
        cr = await self.cr_on(target, name)
        return 0 if cr is None else int(cr["metadata"]["annotations"]["rendersync.dev/version"])

    async def stop_prod_cluster(self) -> None:
        await self._prod_stack.aclose()

    def targets_env(self) -> dict[str, str]:
        """The RENDERSYNC_* variables naming both targets and the routes, for the CLI."""
        assert self.prod_emulator is not None
        kubeconfigs = {
            NONPROD: self.stack.endpoints.kubeconfig,
            PROD: self.prod_emulator.kubeconfig_path,
        }
        targets = {n: {"kind": "kubernetes", "kubeconfig": str(k)} for n, k in kubeconfigs.items()}
        return {"RENDERSYNC_TARGETS": json.dumps(targets), "RENDERSYNC_ROUTES": json.dumps(ROUTES)}


@contextlib.asynccontextmanager
async def two_clusters(
    *, db_url: str, temporal_address: str, bootstrap: str, remote: Path, tmp_path: Path
) -> AsyncIterator[TwoClusters]:
    prod_stack = contextlib.AsyncExitStack()
    async with prod_stack:
        prod = await prod_stack.enter_async_context(
            running_emulator(kubeconfig_out=tmp_path / "prod" / "kubeconfig", crds=[load_crd()])
        )
        prod_kube = await make_api_client(kubeconfig=prod.kubeconfig_path, context=None)
        try:
            async with pipeline(
                db_url=db_url,
                temporal_address=temporal_address,
                bootstrap=bootstrap,
                remote=remote,
                tmp_path=tmp_path,
                options=TWO_CLUSTERS,
                start=False,
            ) as base:
                # Shares the base's task registry, so the base stops what this one starts.
                shared = {f.name: getattr(base, f.name) for f in fields(Pipeline)}
                pipe = TwoClusters(
                    **shared, prod_emulator=prod, prod_kube=prod_kube, _prod_stack=prod_stack
                )
                pipe.start_relay()
                pipe.start_bridge()
                pipe.start_worker()
                yield pipe
        finally:
            await prod_kube.close()
