"""The production topology, as deploy/ runs it: PostgreSQL, the schema upgraded by
``rendersync db upgrade``, 2 API replicas, 2 relays (a leader and a standby), 2 bridges and 2
workers, each a real process, against one broker, Temporal and the Kubernetes emulator. The
relay leader, a bridge and a worker are SIGKILLed mid-workload: the standby relay takes over,
every target ends equal to the database, no CR version ever went back, and every request
the workers made is one the shipped ClusterRole allows."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import pytest_asyncio
from sqlalchemy import text

from rendersync.devstack.services.temporal import TemporalDevServer
from tests.deploy.rbac import allows
from tests.deploy.test_rbac import shipped_rules
from tests.support.pipeline import assert_non_decreasing, watching
from tests.support.topology import WORKER_TOKEN, Topology, running_topology
from tests.support.waiting import eventually

MERGE = {"content-type": "application/merge-patch+json"}
KEYS = [f"app-{i}" for i in range(8)]
DELETED = KEYS[:2]
ROUNDS = 8


@pytest_asyncio.fixture
async def topology(
    postgres_url: str,
    kafka_broker: str,
    temporal_server: TemporalDevServer,
    git_remote: Path,
    tmp_path: Path,
) -> AsyncIterator[Topology]:
    async with running_topology(
        db_url=postgres_url,
        kafka=kafka_broker,
        temporal=temporal_server.address,
        remote=git_remote,
        tmp_path=tmp_path,
    ) as running:
        yield running


async def start_everything(topology: Topology) -> list[httpx.AsyncClient]:
    topology.run_once("db-upgrade", "db", "upgrade")
    urls = [await topology.start_api(f"api-{i}") for i in (1, 2)]
    topology.start("relay-1", "relay")
    await topology.wait_for_log("relay-1", "relay leadership acquired")
    topology.start("relay-2", "relay")
    await topology.wait_for_log("relay-2", "another relay is active; standing by")
    for i in (1, 2):
        topology.start(f"bridge-{i}", "bridge")
        topology.start_worker(f"worker-{i}")
    headers = topology.admin_headers()
    return [httpx.AsyncClient(base_url=url, headers=headers, timeout=30) for url in urls]


async def warm_up(topology: Topology, api: httpx.AsyncClient) -> None:
    """One key through every stage, so the workload starts on a running pipeline."""
    body = {"metadata": {"name": "warm-up"}, "spec": {"app": "warm-up", "environment": "dev"}}
    response = await api.post(f"/api/v1/namespaces/{topology.ns}/appconfigs", json=body)
    assert response.status_code == 201, response.text
    await eventually(
        lambda: topology.targets_equal_database(["warm-up"]), timeout_s=60, what="warm-up"
    )


async def write(topology: Topology, apis: list[httpx.AsyncClient], halfway: asyncio.Event) -> None:
    """Creates, ROUNDS of updates and two deletes, alternating API replicas, paced so the
    kills (at ``halfway``) land in the middle."""
    base = f"/api/v1/namespaces/{topology.ns}/appconfigs"
    replica = itertools.cycle(apis)
    for name in KEYS:
        body = {"metadata": {"name": name}, "spec": {"app": name, "environment": "dev"}}
        response = await next(replica).post(base, json=body)
        assert response.status_code == 201, response.text
    for i in range(ROUNDS):
        for name in KEYS:
            if i == ROUNDS // 2 and name in DELETED:
                response = await next(replica).delete(f"{base}/{name}")
                assert response.status_code in (200, 202), response.text
            elif not (i >= ROUNDS // 2 and name in DELETED):
                patch = {"spec": {"replicas": i + 1, "data": {"ROUND": str(i)}}}
                response = await next(replica).patch(f"{base}/{name}", json=patch, headers=MERGE)
                assert response.status_code == 200, response.text
        if i == ROUNDS // 2:
            halfway.set()
        await asyncio.sleep(0.4)  # pacing the workload, not waiting for a condition


@pytest.mark.timeout(180)
async def test_failover_of_relay_bridge_and_worker_converges_to_the_database(
    topology: Topology,
) -> None:
    apis = await start_everything(topology)
    try:
        await warm_up(topology, apis[0])
        async with watching(topology.kube, topology.ns) as log:
            halfway = asyncio.Event()
            writer = asyncio.create_task(write(topology, apis, halfway))
            await asyncio.wait_for(halfway.wait(), timeout=60)
            assert not writer.done(), "the kills must land mid-workload"
            for name in ("relay-1", "bridge-1", "worker-1"):
                topology.kill(name)
            await writer
            await topology.wait_for_log("relay-2", "relay leadership acquired", timeout_s=30)
            await eventually(
                lambda: topology.targets_equal_database([*KEYS, "warm-up"]),
                timeout_s=90,
                what="every target equal to the database",
            )
        for name in KEYS:
            assert_non_decreasing(log.seen.get(name, []), f"CR {name}")
    finally:
        for api in apis:
            await api.aclose()
    rows = topology.rows()
    assert sorted(rows) == sorted({*KEYS, "warm-up"} - set(DELETED)), "tombstones purged"
    with topology.engine.connect() as conn:
        unpublished = conn.execute(text("SELECT count(*) FROM outbox WHERE published_at IS NULL"))
        assert unpublished.scalar_one() == 0, "the standby relay published everything"
    rules = shipped_rules()
    requests = [r for r in topology.emulator.requests.entries() if r.user == WORKER_TOKEN]
    assert requests
    assert [r.path for r in requests if not allows(rules, r)] == []
