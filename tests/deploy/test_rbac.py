"""Least privilege, measured: the worker runs as a real process against the emulator with a
token of its own; every request it makes while syncing creates, updates, a hand edit and a
delete is allowed by the ClusterRole deploy/ ships, and that role grants nothing it did not use.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from kubernetes_asyncio import client

from k8s.applying import read_appconfig
from tests.deploy.conftest import DEPLOY, build_overlay
from tests.deploy.objects import named
from tests.deploy.rbac import Rule, allows, grants, used
from tests.support.topology import WORKER_TOKEN, Topology
from tests.support.waiting import eventually
from vocabulary import GROUP, PLURAL, VERSION

MERGE = {"content-type": "application/merge-patch+json"}
MERGE_PATCH: dict[str, Any] = {"_content_type": "application/merge-patch+json"}


def shipped_rules() -> list[Rule]:
    objects = build_overlay(DEPLOY / "overlays" / "prod")
    role = named(objects, "ClusterRole", "rendersync-worker")
    binding = named(objects, "ClusterRoleBinding", "rendersync-worker")
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": "rendersync-worker", "namespace": "rendersync"}
    ]
    assert not [o for o in objects if o["kind"] in ("Role", "RoleBinding")]
    rules: list[Rule] = role["rules"]
    return rules


async def _workload(topology: Topology, api: httpx.AsyncClient) -> list[str]:
    base = f"/api/v1/namespaces/{topology.ns}/appconfigs"
    names = ["alpha", "beta", "gamma"]
    for name in names:
        body = {"metadata": {"name": name}, "spec": {"app": name, "environment": "dev"}}
        assert (await api.post(base, json=body)).status_code == 201
    for name in names:
        patch = {"spec": {"replicas": 3}}
        assert (await api.patch(f"{base}/{name}", json=patch, headers=MERGE)).status_code == 200
    await eventually(lambda: topology.targets_equal_database(names), what="first syncs")
    # A hand edit in the cluster, which drift repair undoes.
    await client.CustomObjectsApi(topology.kube).patch_namespaced_custom_object(
        GROUP, VERSION, topology.ns, PLURAL, "beta", {"spec": {"replicas": 9}},
        **MERGE_PATCH,
    )  # fmt: skip
    assert (await api.delete(f"{base}/gamma")).status_code in (200, 202)
    return names


@pytest.mark.timeout(150)
async def test_the_worker_uses_exactly_what_its_cluster_role_grants(topology: Topology) -> None:
    rules = shipped_rules()
    topology.run_once("db-upgrade", "db", "upgrade")
    url = await topology.start_api("api")
    for name in ("relay", "bridge"):
        topology.start(name, name)
    topology.start_worker("worker")
    headers = topology.admin_headers()
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as api:
        names = await _workload(topology, api)

    async def repaired() -> bool:
        cr = await read_appconfig(topology.kube, namespace=topology.ns, name="beta")
        fixed = cr is not None and cr["spec"]["replicas"] == 3
        return fixed and await topology.targets_equal_database(names)

    await eventually(repaired, timeout_s=60, what="the drift repaired and the delete compensated")
    requests = [r for r in topology.emulator.requests.entries() if r.user == WORKER_TOKEN]
    assert requests, "the worker presented its own token"
    denied = sorted({(r.method, r.path, r.verb) for r in requests if not allows(rules, r)})
    assert denied == [], "requests the shipped ClusterRole would refuse"
    assert grants(rules) - used(requests) == set(), "granted but never used"
