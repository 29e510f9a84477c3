"""Per-key order (guarantee 1): targets only move forward and end at the last committed version,
under rapid updates, duplicate and out-of-order Kafka events, and deletes racing updates."""

from __future__ import annotations

import asyncio
import functools

from aiokafka import AIOKafkaProducer
from sqlmodel import Session, select

from persistence.tables import OutboxEvent
from tests.support.builders import body
from tests.support.pipeline import Pipeline, VersionLog, assert_non_decreasing, watching
from tests.support.waiting import eventually

MERGE = {"content-type": "application/merge-patch+json"}


async def current_version(pipe: Pipeline, name: str) -> int:
    response = await pipe.api.get(f"{pipe.base}/{name}")
    return int(response.json()["metadata"]["resourceVersion"])


def assert_targets_moved_forward(pipe: Pipeline, log: VersionLog, name: str) -> None:
    assert_non_decreasing(log.seen.get(name, []), f"CR {name}")
    assert_non_decreasing(pipe.git_versions(name), f"Git file of {name}")


async def test_rapid_updates_interleaved_with_other_keys(pipe: Pipeline) -> None:
    others = [f"other-{i}" for i in range(5)]
    async with watching(pipe.kube, pipe.ns) as log:
        for name in ["hot", *others]:
            assert (await pipe.api.post(pipe.base, json=body(name))).status_code == 201
        for i in range(200):
            await pipe.api.patch(
                f"{pipe.base}/hot", json={"spec": {"data": {"i": str(i)}}}, headers=MERGE
            )
            if i % 20 == 0:
                other = others[(i // 20) % len(others)]
                await pipe.api.patch(
                    f"{pipe.base}/{other}", json={"spec": {"replicas": i % 50}}, headers=MERGE
                )
        finals = {name: await current_version(pipe, name) for name in ["hot", *others]}
        for name, version in finals.items():
            await eventually(
                functools.partial(pipe.converged, name, version),
                timeout_s=90,
                what=f"{name} at {version}",
            )
    for name in finals:
        assert_targets_moved_forward(pipe, log, name)
    cr = await pipe.live_cr("hot")
    assert cr is not None
    assert cr["spec"]["data"] == {"i": "199"}
    # Coalescing: far fewer applies than writes reached the targets.
    assert len(pipe.git_versions("hot")) < 201


async def test_duplicate_and_out_of_order_events_do_not_regress(pipe: Pipeline) -> None:
    async with watching(pipe.kube, pipe.ns) as log:
        await pipe.api.post(pipe.base, json=body("web"))
        for replicas in (2, 3, 4):
            await pipe.api.patch(
                f"{pipe.base}/web", json={"spec": {"replicas": replicas}}, headers=MERGE
            )
        final = await current_version(pipe, "web")
        await eventually(lambda: pipe.converged("web", final), what="web converged")
        with Session(pipe.engine) as session:
            events = list(session.execute(select(OutboxEvent).order_by(OutboxEvent.seq)).scalars())  # type: ignore[arg-type]
        producer = AIOKafkaProducer(bootstrap_servers=pipe.bootstrap, acks="all")
        await producer.start()
        try:
            for event in [*reversed(events), *events, events[0]]:  # out of order, then duplicates
                await producer.send_and_wait(
                    pipe.topic, key=event.key.encode(), value=event.envelope.encode()
                )
        finally:
            await producer.stop()
        marker_version = (
            await pipe.api.patch(f"{pipe.base}/web", json={"spec": {"replicas": 9}}, headers=MERGE)
        ).json()
        newest = int(marker_version["metadata"]["resourceVersion"])
        await eventually(lambda: pipe.converged("web", newest), what="newest after replays")
    assert_targets_moved_forward(pipe, log, "web")
    cr = await pipe.live_cr("web")
    assert cr is not None
    assert cr["spec"]["replicas"] == 9


async def test_delete_racing_with_updates(pipe: Pipeline) -> None:
    async with watching(pipe.kube, pipe.ns) as log:
        await pipe.api.post(pipe.base, json=body("racy"))

        async def updates() -> None:
            for i in range(30):
                await pipe.api.patch(
                    f"{pipe.base}/racy", json={"spec": {"replicas": i % 50}}, headers=MERGE
                )

        async def delete_midway() -> None:
            await asyncio.sleep(0)  # let the first updates start
            for _ in range(10):
                await pipe.api.patch(
                    f"{pipe.base}/racy", json={"spec": {"data": {"x": "y"}}}, headers=MERGE
                )
            assert (await pipe.api.delete(f"{pipe.base}/racy")).status_code == 200

        await asyncio.gather(updates(), delete_midway(), return_exceptions=True)
        exists = (await pipe.api.get(f"{pipe.base}/racy")).status_code == 200
        assert not exists

        async def gone() -> bool:
            return await pipe.live_cr("racy") is None and pipe.git_file("racy") is None

        await eventually(gone, what="delete compensated on both targets")
        row_gone = await eventually_purged(pipe, "racy")
        assert row_gone
    assert_targets_moved_forward(pipe, log, "racy")


async def eventually_purged(pipe: Pipeline, name: str) -> bool:
    from persistence.reading import get_row

    async def purged() -> bool:
        return get_row(pipe.engine, namespace=pipe.ns, name=name) is None

    await eventually(purged, what=f"tombstone of {name} purged")
    return True
