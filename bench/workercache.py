"""The Temporal worker's workflow cache, measured alone: worker RSS per cached workflow, and
the worker CPU per change when the live keys fit the cache or not (an evicted workflow is
replayed from its whole history at its next signal).

``python -m bench.workercache --keys 2000 --cache 1000,3000 --runner worker``: for each workflow
runner and cache size, a dev server, one in-process worker with the workflow tests' fake
activities, one change to each key (every workflow started and cached), then a second change to
each key. Memory freed by one run stays with the process, so compare the RSS of runs made in
separate processes (one runner and one cache size per command).
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import time
import uuid
from pathlib import Path

from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from tests.support.waiting import eventually
from tests.workflows.conftest import register_search_attributes
from tests.workflows.fakes import FakeActivities
from tests.workflows.harness import FAST_RETRIES, SyncDriver, server_binary
from worker.temporalworker import WORKFLOW_RUNNER
from workflows import AppConfigSync
from workflows.declarations import GIT


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def one_round(drivers: list[SyncDriver], fake: FakeActivities, seq: int) -> float:
    """Send version ``seq`` to every key, wait for every Git apply of it; the CPU seconds."""
    started = cpu_s()
    limit = asyncio.Semaphore(50)

    async def send(driver: SyncDriver) -> None:
        async with limit:
            await driver.upsert(seq)

    await asyncio.gather(*(send(d) for d in drivers))

    async def applied() -> bool:
        return fake.versions(GIT.apply.name).count(seq) >= len(drivers)

    await eventually(applied, timeout_s=600, what=f"v{seq} of every key", interval_s=0.2)
    return cpu_s() - started


RUNNERS: dict[str, WorkflowRunner] = {
    "worker": WORKFLOW_RUNNER,  # what the worker runs: no sandbox
    "sandbox": SandboxedWorkflowRunner(),  # workflow modules re-imported per instance
    "passthrough": SandboxedWorkflowRunner(  # the sandbox, every module taken from the worker
        restrictions=SandboxRestrictions.default.with_passthrough_all_modules()
    ),
}


async def measure(keys: int, cache: int, runner: str = "worker") -> dict[str, float]:
    environment = await WorkflowEnvironment.start_local(
        dev_server_existing_path=server_binary("temporal")
    )
    async with environment:
        await register_search_attributes(environment.client)
        fake = FakeActivities()
        fake.current_options = lambda: FAST_RETRIES
        queue = f"cache-{uuid.uuid4().hex}"
        drivers = [
            SyncDriver(environment.client, queue, f"bench/key-{i}", FAST_RETRIES)
            for i in range(keys)
        ]
        async with Worker(
            environment.client,
            task_queue=queue,
            workflows=[AppConfigSync],
            activities=fake.activities(),
            max_cached_workflows=cache,
            workflow_runner=RUNNERS[runner],
        ):
            before = rss_mib()
            first = await one_round(drivers, fake, 1)
            after = rss_mib()
            second = await one_round(drivers, fake, 2)
            return {
                "keys": keys,
                "cache": cache,
                "rss_before_mib": before,
                "rss_after_mib": after,
                "kib_per_cached_workflow": (after - before) * 1024 / min(keys, cache),
                "cpu_ms_per_change_round1": first * 1000 / keys,
                "cpu_ms_per_change_round2": second * 1000 / keys,
            }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=2000)
    parser.add_argument("--cache", default="1000,3000", help="comma-separated cache sizes")
    parser.add_argument("--runner", default="worker", help=f"comma-separated of {sorted(RUNNERS)}")
    args = parser.parse_args()
    for runner in args.runner.split(","):
        for cache in (int(c) for c in args.cache.split(",")):
            started = time.monotonic()
            result = asyncio.run(measure(args.keys, cache, runner))
            result["seconds"] = time.monotonic() - started
            print(runner, {k: round(v, 2) for k, v in result.items()}, flush=True)


if __name__ == "__main__":
    main()
