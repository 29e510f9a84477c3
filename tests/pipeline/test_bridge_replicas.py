"""Several bridge replicas share the consumer group: every change arrives, in order per key,
also when a replica leaves and its partitions move (rebalance)."""

from __future__ import annotations

import functools

from tests.support.builders import body
from tests.support.pipeline import Pipeline, assert_non_decreasing, watching
from tests.support.waiting import eventually

MERGE = {"content-type": "application/merge-patch+json"}


async def write(pipe: Pipeline, names: list[str], rounds: int) -> dict[str, int]:
    finals = {}
    for replicas in range(rounds):
        for name in names:
            response = await pipe.api.patch(
                f"{pipe.base}/{name}", json={"spec": {"replicas": replicas}}, headers=MERGE
            )
            finals[name] = int(response.json()["metadata"]["resourceVersion"])
    return finals


async def test_two_replicas_and_a_rebalance(pipe: Pipeline) -> None:
    pipe.start_bridge("bridge-2")
    names = [f"key-{i}" for i in range(8)]
    async with watching(pipe.kube, pipe.ns) as log:
        for name in names:
            assert (await pipe.api.post(pipe.base, json=body(name))).status_code == 201
        finals = await write(pipe, names, rounds=3)
        for name, version in finals.items():
            await eventually(functools.partial(pipe.converged, name, version), what=name)
        await pipe.stop("bridge")  # its partitions move to bridge-2
        finals = await write(pipe, names, rounds=3)
        for name, version in finals.items():
            await eventually(
                functools.partial(pipe.converged, name, version), timeout_s=90, what=name
            )
    for name in names:
        assert_non_decreasing(log.seen.get(name, []), f"CR {name}")
        assert_non_decreasing(pipe.git_versions(name), f"Git file of {name}")
