"""The fault suite (guarantees 1-6 together): random creates, updates, deletes and immediate
recreates over 50 keys while the relay, bridge and worker are SIGKILLed, the Kubernetes API
refuses every request for longer than any bounded retry budget would last, and one create
outlives its activity's timeout (a zombie whose write lands after the key was deleted).

It ends with every target equal to the database, no target ever back at an older version of
a key, no orphan, no tombstone left, and no sync Failed or Retrying."""

from __future__ import annotations

import asyncio
import random
import subprocess
from typing import Any

import pytest
import yaml
from sqlalchemy import select
from sqlmodel import Session, col

from k8s.manifests import version_of
from k8s.watching import list_appconfigs
from persistence.tables import AppConfigRow
from tests.pipeline.recovery.conftest import Stack
from tests.support.builders import body
from tests.support.pipeline import VersionLog, assert_non_decreasing, watching
from tests.support.waiting import eventually

MERGE = {"content-type": "application/merge-patch+json"}
KEYS = 50
#: Every read and write of AppConfigs; watches stay open so the test observes every version.
REFUSED = r"^(?!.*watch=).*/appconfigs"
OUTAGE_S = 25.0
ZOMBIE_LATENCY_S = 9.0  # the stack's start-to-close timeout is 4 s


class Workload:
    """Random writes through the API, remembering which keys are live."""

    def __init__(self, stack: Stack, seed: int) -> None:
        self.stack = stack
        self.rng = random.Random(seed)
        self.live: set[str] = set()
        self.names = [f"k{i:02d}" for i in range(KEYS)]

    async def create(self, name: str) -> None:
        response = await self.stack.api.post(
            self.stack.base, json=body(name, replicas=self.rng.randint(0, 9))
        )
        assert response.status_code == 201, response.text
        self.live.add(name)

    async def delete(self, name: str) -> None:
        response = await self.stack.api.delete(f"{self.stack.base}/{name}")
        assert response.status_code == 200, response.text
        self.live.discard(name)

    async def step(self) -> None:
        name = self.rng.choice(self.names)
        if name not in self.live:
            await self.create(name)
            return
        roll = self.rng.random()
        if roll < 0.6:
            response = await self.stack.api.patch(
                f"{self.stack.base}/{name}",
                json={"spec": {"replicas": self.rng.randint(0, 9)}},
                headers=MERGE,
            )
            assert response.status_code == 200, response.text
        elif roll < 0.8:
            await self.delete(name)
        else:  # delete, then recreate at once: a new incarnation of the key
            await self.delete(name)
            await self.create(name)

    async def run(self, steps: int, pause_s: float = 0.02) -> None:
        for _ in range(steps):
            await self.step()
            await asyncio.sleep(pause_s)  # a steady stream rather than one burst


def rows(stack: Stack) -> dict[str, AppConfigRow]:
    with Session(stack.engine) as session:
        query = select(AppConfigRow).where(col(AppConfigRow.namespace) == stack.ns)
        return {row.name: row for row in session.execute(query).scalars()}


def git_tree(stack: Stack) -> dict[str, dict[str, Any]]:
    """The documents under ``appconfigs/{ns}/`` on the remote's main branch, by name."""
    git = ["git", "--git-dir", str(stack.remote)]
    listed = subprocess.run(
        [*git, "ls-tree", "--name-only", "main", f"appconfigs/{stack.ns}/"],
        capture_output=True,
        text=True,
        check=False,
    )
    files: dict[str, dict[str, Any]] = {}
    for path in listed.stdout.split():
        shown = subprocess.run(
            [*git, "show", f"main:{path}"], capture_output=True, text=True, check=True
        )
        files[path.rsplit("/", 1)[1].removesuffix(".yaml")] = yaml.safe_load(shown.stdout)
    return files


def git_history(stack: Stack, name: str) -> list[int]:
    """Every version the key's file held, oldest first, across all of its incarnations."""
    path = f"appconfigs/{stack.ns}/{name}.yaml"
    git = ["git", "--git-dir", str(stack.remote)]
    shas = subprocess.run(
        [*git, "log", "--reverse", "--format=%H", "main", "--", path],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    versions = []
    for sha in shas:
        shown = subprocess.run([*git, "show", f"{sha}:{path}"], capture_output=True, text=True)
        if shown.returncode == 0:  # not the commit that removed it
            versions.append(version_of(yaml.safe_load(shown.stdout)))
    return versions


async def differences(stack: Stack) -> list[str]:
    """How the targets and the API's status differ from the database (empty: converged)."""
    found: list[str] = []
    table = rows(stack)
    found += [f"{n}: tombstone v{r.seq} not purged" for n, r in table.items() if r.deleted]
    live = {n: r for n, r in table.items() if not r.deleted}
    crs = {c["metadata"]["name"]: c for c in await list_appconfigs(stack.kube, namespace=stack.ns)}
    files = git_tree(stack)
    for kind, objects in (("CR", crs), ("Git file", files)):
        orphans = [(n, o) for n, o in objects.items() if n not in live]
        found += [f"{kind} {n}: orphan v{version_of(o)}" for n, o in orphans]
        for name, row in live.items():
            obj = objects.get(name)
            if obj is None:
                found.append(f"{kind} {name}: missing, row at v{row.seq}")
            elif version_of(obj) != row.seq or obj.get("spec") != row.spec:
                found.append(f"{kind} {name}: v{version_of(obj)}, row at v{row.seq}")
    listed = await stack.api.get(stack.base)
    for item in listed.json()["items"]:
        if item["status"]["phase"] != "Synced":
            found.append(f"{item['metadata']['name']}: phase {item['status']['phase']}")
    return found


async def stuck_workflows(stack: Stack) -> list[str]:
    """Workflows of this namespace whose SyncState is Failed or Retrying."""
    client = await stack.temporal_client()
    query = 'SyncState = "Failed" OR SyncState = "Retrying"'
    prefix = f"appconfig:{stack.ns}/"
    return [w.id async for w in client.list_workflows(query) if w.id.startswith(prefix)]


async def wait_converged(stack: Stack, log: VersionLog) -> None:
    last: list[str] = []

    async def converged() -> bool:
        nonlocal last
        last = await differences(stack) + await stuck_workflows(stack)
        return not last

    try:
        await eventually(converged, timeout_s=240, interval_s=1.0, what="convergence")
    except AssertionError as err:
        raise AssertionError(f"{err}; still different: {last[:20]}") from None
    for name in {*log.seen, *rows(stack)}:
        assert_non_decreasing(log.seen.get(name, []), f"CR {name}")
        assert_non_decreasing(git_history(stack, name), f"Git file of {name}")


async def any_retrying(stack: Stack) -> bool:
    listed = await stack.api.get(stack.base)
    return any(i["status"]["phase"] == "Retrying" for i in listed.json()["items"])


@pytest.mark.timeout(600)
async def test_random_workload_under_crashes_outage_and_a_zombie_converges(stack: Stack) -> None:
    # The default retry policy, not the stack's retry-forever one; frequent repair passes.
    stack.env.pop("RENDERSYNC_SYNC__RETRY_MAX_ATTEMPTS", None)
    stack.env["RENDERSYNC_SYNC__RESYNC_INTERVAL_S"] = "5"
    stack.env["RENDERSYNC_SYNC__ORPHAN_INTERVAL_S"] = "2"
    stack.env["RENDERSYNC_SYNC__ORPHAN_GRACE_S"] = "4"
    for name in ("relay", "bridge", "worker"):
        stack.start(name)
    workload = Workload(stack, seed=20261202)
    emulator = stack.emulator
    async with watching(stack.kube, stack.ns) as log:
        # The zombie: the first create hangs in the API server past the activity's timeout;
        # the key is deleted meanwhile, and the create lands afterwards (an orphan to collect).
        emulator.faults.add(method="POST", path_regex=REFUSED, latency_s=ZOMBIE_LATENCY_S, count=1)
        await workload.create("zombie")
        await eventually(lambda: _faults_taken(stack), what="the zombie create to be in flight")
        await workload.delete("zombie")

        await workload.run(60)
        stack.kill("worker")
        await workload.run(30)
        stack.start("worker")
        await workload.run(30)
        stack.kill("bridge")
        stack.kill("relay")
        await workload.run(30)
        stack.start("relay")
        stack.start("bridge")

        # The outage: every AppConfig request refused for longer than a retry budget.
        outage = emulator.faults.add(path_regex=REFUSED, status=503, message="outage")
        await workload.run(40)
        await eventually(lambda: any_retrying(stack), timeout_s=OUTAGE_S, what="a Retrying sync")
        stack.kill("worker")
        stack.start("worker")
        await asyncio.sleep(OUTAGE_S)  # the outage itself: how long the API server is down
        emulator.faults.remove(outage)
        await workload.run(40)

        await wait_converged(stack, log)


async def _faults_taken(stack: Stack) -> bool:
    return not stack.emulator.faults.list()
