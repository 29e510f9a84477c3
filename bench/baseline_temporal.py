"""Baseline (b): bare Temporal on the same dev server build, no rendersync code in the loop.

A no-op entity workflow shaped like AppConfigSync's cheapest path: signal-with-start, one
workflow task that schedules one no-op activity, one that completes. The worker runs in its
own process (``python -m bench.baseline_temporal ADDRESS TASK_QUEUE``); this process is the
client. Measured: signal-with-starts accepted per second (issued with bounded concurrency,
as fast as the server takes them) and complete lifecycles per second (until every workflow
has completed).
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from datetime import timedelta
from typing import Any

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.worker import Worker

from worker.temporalworker import WORKFLOW_RUNNER

WORKFLOW = "BenchNoop"
SIGNAL = "change"
CONCURRENCY = 32


@activity.defn(name="bench_noop")
async def noop(seq: int) -> int:
    return seq


@workflow.defn(name=WORKFLOW)
class Noop:
    def __init__(self) -> None:
        self.seq = 0

    @workflow.run
    async def run(self) -> int:
        await workflow.wait_condition(lambda: self.seq > 0)
        return await workflow.execute_activity(
            noop, self.seq, start_to_close_timeout=timedelta(seconds=30)
        )

    @workflow.signal(name=SIGNAL)
    def change(self, seq: int) -> None:
        self.seq = max(self.seq, seq)


async def _serve(address: str, task_queue: str, stop: asyncio.Event) -> None:
    client = await Client.connect(address)
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[Noop],
        activities=[noop],
        workflow_runner=WORKFLOW_RUNNER,
    ):
        await stop.wait()


async def drive(address: str, task_queue: str, count: int) -> dict[str, Any]:
    """Signal-with-start ``count`` workflows, then wait until all completed."""
    client = await Client.connect(address)
    prefix = uuid.uuid4().hex[:8]
    gate = asyncio.Semaphore(CONCURRENCY)

    async def start(i: int) -> Any:
        async with gate:
            return await client.start_workflow(
                WORKFLOW,
                id=f"bench-{prefix}-{i}",
                task_queue=task_queue,
                start_signal=SIGNAL,
                start_signal_args=[i + 1],
            )

    began = time.monotonic()
    handles = await asyncio.gather(*(start(i) for i in range(count)))
    started_s = time.monotonic() - began

    async def finish(handle: Any) -> None:
        async with gate:
            await handle.result()

    await asyncio.gather(*(finish(h) for h in handles))
    done_s = time.monotonic() - began
    return {
        "workflows": count,
        "starts_s": round(started_s, 2),
        "starts_per_s": round(count / started_s, 1),
        "lifecycles_s": round(done_s, 2),
        "lifecycles_per_s": round(count / done_s, 1),
    }


def main(argv: list[str]) -> int:
    # Imported here: the workflow sandbox re-imports this module and needs none of it.
    from rendersync.processes import run_until_signalled

    address, task_queue = argv
    return run_until_signalled(lambda stop: _serve(address, task_queue, stop))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
