"""The bridge's bookkeeping of deliveries in flight: commits only up to the highest contiguous
finished offset, one delivery per key at a time in the order started, and settling."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiokafka import TopicPartition

from tests.support.waiting import eventually
from worker.bridge.inflight import InFlight, PartitionOffsets

TP = TopicPartition("t", 0)


def test_the_commit_point_is_one_past_the_highest_contiguous_finished_offset() -> None:
    offsets = PartitionOffsets()
    offsets.add([10, 11, 12, 14])  # 13: not a record (a compacted or transaction offset)
    offsets.finish([11, 12])
    assert (offsets.commit_at, len(offsets)) == (None, 4)
    offsets.finish([10])
    assert (offsets.commit_at, len(offsets)) == (13, 1)
    offsets.finish([14])
    assert (offsets.commit_at, len(offsets)) == (15, 0)


async def test_a_keys_deliveries_run_one_at_a_time_in_order() -> None:
    in_flight = InFlight()
    gate = asyncio.Event()
    order: list[str] = []

    def delivery(name: str, *, held: bool = False) -> Callable[[], Awaitable[bool]]:
        async def deliver() -> bool:
            order.append(f"{name} begins")
            if held:
                await gate.wait()
            order.append(f"{name} ends")
            return True

        return deliver

    in_flight.track(TP, [0, 1, 2])
    in_flight.start(TP, "k", delivery("k0", held=True), [0])
    in_flight.start(TP, "j", delivery("j1"), [1])
    in_flight.start(TP, "k", delivery("k2"), [2])

    async def j_done() -> bool:
        return "j1 ends" in order

    await eventually(j_done, timeout_s=5, what="j's delivery, while k's first one is held")
    assert order == ["k0 begins", "j1 begins", "j1 ends"]
    assert in_flight.commits({}) == {}  # offset 0 is in flight
    gate.set()
    settled = await in_flight.settle([TP], grace_s=5)
    assert order[3:] == ["k0 ends", "k2 begins", "k2 ends"]
    assert settled == {TP: 3}
    assert in_flight.count == 0


async def test_settling_cancels_what_outlives_the_grace_and_commits_the_rest() -> None:
    in_flight = InFlight()
    hung = asyncio.Event()

    async def finishes() -> bool:
        return True

    async def hangs() -> bool:
        await hung.wait()
        return True

    in_flight.track(TP, [0, 1, 2])
    in_flight.start(TP, "a", finishes, [0])
    in_flight.start(TP, "b", hangs, [1])
    in_flight.start(TP, "c", finishes, [2])
    assert await in_flight.settle([TP], grace_s=0.2) == {TP: 1}
    assert in_flight.commits({}) == {}
    in_flight.raise_failure()  # a cancellation is no failure
