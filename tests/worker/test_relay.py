"""The outbox relay: seq order per key, one active relay, nothing marked published before the
broker acknowledged it, the topic created with the configured partitions, and a message the
producer refuses for good set aside (recorded, shown in the key's status) without blocking."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from sqlalchemy import Engine

from persistence import outbox, syncstatus
from persistence.db import make_engine
from persistence.keystatus import derive_status
from persistence.migrating import upgrade
from persistence.reading import get_row
from persistence.writing import Content, create_appconfig, update_appconfig
from rendersync.devstack.services.childprocesses import free_port
from tests.support.waiting import eventually
from worker.relay import RelayConfig, run_relay

SPEC = {"app": "web", "environment": "dev"}


@pytest_asyncio.fixture
async def engine(db_url: str) -> AsyncIterator[Engine]:
    engine = make_engine(db_url)
    upgrade(engine)
    yield engine
    engine.dispose()


def config(db_url: str, bootstrap: str, topic: str) -> RelayConfig:
    return RelayConfig(
        db_url=db_url, bootstrap_servers=bootstrap, topic=topic, partitions=4, poll_interval_s=0.05
    )


def write(engine: Engine, keys: list[str], rounds: int) -> None:
    for name in keys:
        create_appconfig(
            engine, namespace="ns", name=name, content=Content(SPEC, {}, {}), actor="test"
        )
    for replicas in range(1, rounds + 1):
        for name in keys:
            update_appconfig(
                engine,
                namespace="ns",
                name=name,
                content=Content({**SPEC, "replicas": replicas}, {}, {}),
                expected_version=None,
                actor="test",
            )


async def consume(bootstrap: str, topic: str, expected: int) -> list[tuple[str, int, int]]:
    """(key, partition, seq) of the first ``expected`` messages, in partition order."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    seen: list[tuple[str, int, int]] = []
    try:
        async with asyncio.timeout(30):
            while len(seen) < expected:
                batch = await consumer.getmany(timeout_ms=500)
                for tp, records in batch.items():
                    for r in records:
                        change = json.loads(r.value)
                        seq = (change["after"] or change["before"])["seq"]
                        seen.append((r.key.decode(), tp.partition, seq))
    finally:
        await consumer.stop()
    return seen


async def test_publishes_in_seq_order_per_key_and_marks_after_ack(
    engine: Engine, db_url: str, kafka_broker: str
) -> None:
    topic = f"relay-{uuid.uuid4().hex[:8]}"
    await asyncio.to_thread(write, engine, ["a", "b", "c"], 5)
    stop = asyncio.Event()
    relay = asyncio.create_task(run_relay(config(db_url, kafka_broker, topic), engine, stop=stop))
    try:
        seen = await consume(kafka_broker, topic, 18)
        await eventually(
            lambda: asyncio.to_thread(lambda: not outbox.fetch_unpublished(engine, limit=1)),
            what="all rows marked published",
        )
    finally:
        stop.set()
        await relay
    by_key: dict[str, list[int]] = {}
    for key, _partition, seq in seen:
        by_key.setdefault(key, []).append(seq)
    assert set(by_key) == {"ns/a", "ns/b", "ns/c"}
    for seqs in by_key.values():
        assert seqs == sorted(seqs)
        assert len(seqs) == 6
    assert len({p for key, p, _ in seen if key == "ns/a"}) == 1  # one key, one partition
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_broker)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    assert len(described[0]["partitions"]) == 4


async def test_an_unreachable_broker_pauses_the_relay_and_loses_nothing(
    engine: Engine, db_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    await asyncio.to_thread(write, engine, ["a"], 1)
    unreachable = f"127.0.0.1:{free_port()}"
    stop = asyncio.Event()
    relay = asyncio.create_task(run_relay(config(db_url, unreachable, "t"), engine, stop=stop))

    async def retrying() -> bool:
        return sum("Kafka unavailable" in r.getMessage() for r in caplog.records) >= 2

    await eventually(retrying, what="the relay to retry")
    assert not relay.done()  # it waits for Kafka instead of exiting
    stop.set()
    await relay
    assert len(outbox.fetch_unpublished(engine, limit=10)) == 2


async def test_a_second_relay_stands_by_until_the_first_stops(
    engine: Engine, db_url: str, kafka_broker: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level("INFO", logger="persistence.leadership")
    topic = f"relay-{uuid.uuid4().hex[:8]}"
    first_stop, second_stop = asyncio.Event(), asyncio.Event()
    first = asyncio.create_task(
        run_relay(config(db_url, kafka_broker, topic), engine, stop=first_stop)
    )
    await asyncio.to_thread(write, engine, ["a"], 0)
    await consume(kafka_broker, topic, 1)
    second = asyncio.create_task(
        run_relay(config(db_url, kafka_broker, topic), engine, stop=second_stop)
    )

    async def standing_by() -> bool:
        return any("standing by" in r.getMessage() for r in caplog.records)

    try:
        await eventually(standing_by, what="the second relay to stand by")
        first_stop.set()
        await first
        await asyncio.to_thread(write, engine, ["b"], 0)
        seen = await consume(kafka_broker, topic, 2)  # the standby took over
        assert {key for key, _, _ in seen} == {"ns/a", "ns/b"}
    finally:
        first_stop.set()
        second_stop.set()
        await asyncio.gather(first, second)


async def test_a_message_refused_for_good_is_set_aside_and_later_rows_flow(
    engine: Engine, db_url: str, kafka_broker: str
) -> None:
    topic = f"relay-{uuid.uuid4().hex[:8]}"

    def write_around_a_huge_row() -> int:
        write(engine, ["a"], 0)
        # Written below the API (which would refuse it): over the producer's 1 MiB.
        huge = create_appconfig(
            engine,
            namespace="ns",
            name="huge",
            content=Content(SPEC, {}, {"note": "x" * 1_200_000}),
            actor="test",
        )
        write(engine, ["b"], 2)
        return huge.seq

    huge_seq = await asyncio.to_thread(write_around_a_huge_row)
    stop = asyncio.Event()
    relay = asyncio.create_task(run_relay(config(db_url, kafka_broker, topic), engine, stop=stop))
    try:
        seen = await consume(kafka_broker, topic, 4)
        await eventually(
            lambda: asyncio.to_thread(lambda: not outbox.fetch_unpublished(engine, limit=1)),
            what="nothing left to publish",
        )
    finally:
        stop.set()
        await relay
    assert sorted((key, seq) for key, _, seq in seen)[0] == ("ns/a", 1)
    assert {key for key, _, _ in seen} == {"ns/a", "ns/b"}
    (aside,) = outbox.set_aside_events(engine)
    assert (aside.seq, aside.key) == (huge_seq, "ns/huge")
    assert "MessageSizeTooLarge" in aside.error
    (report,) = syncstatus.list_status(engine, namespace="ns")
    assert (report.name, report.target, report.failed_version) == ("huge", "relay", huge_seq)
    row = get_row(engine, namespace="ns", name="huge")
    assert row is not None  # the row stays the truth
    status = derive_status(
        row, [report], targets=("kubernetes",), ui_url="http://ui", temporal_namespace="default"
    )
    assert status["phase"] == "Failed"
    assert "not published" in status["lastError"]


async def test_a_commit_from_another_connection_wakes_the_relay_before_its_poll(
    engine: Engine, db_url: str, kafka_broker: str
) -> None:
    """The relay waits on NOTIFY (PostgreSQL) or its commit watch (SQLite), not the poll: with
    a 5 s fallback poll, a write committed by another engine arrives well within it."""
    topic = f"relay-{uuid.uuid4().hex[:8]}"
    await asyncio.to_thread(write, engine, ["a"], 0)
    slow_poll = dataclasses.replace(config(db_url, kafka_broker, topic), poll_interval_s=5.0)
    stop = asyncio.Event()
    relay = asyncio.create_task(run_relay(slow_poll, engine, stop=stop))
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=kafka_broker, auto_offset_reset="earliest")
    other = make_engine(db_url)  # another writer: its own connections, as the API's
    await consumer.start()
    try:
        async with asyncio.timeout(30):  # the relay's start, and the first event published
            await consumer.getone()
        await asyncio.to_thread(write, other, ["b"], 0)
        written = time.monotonic()
        async with asyncio.timeout(2):
            record = await consumer.getone()
        waited = time.monotonic() - written
    finally:
        await consumer.stop()
        stop.set()
        await relay
        other.dispose()
    assert record.key == b"ns/b"
    assert waited < 2
