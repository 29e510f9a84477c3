"""Kafka launcher and the embedded broker's documented limits (what works, what is rejected)."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError

from rendersync.devstack.services.childprocesses import pid_exists, port_accepts
from rendersync.devstack.services.kafka import start_kafka_broker, wait_for_kafka
from tests.fixtures.services import TopicFactory

#: This broker delays group joins by about half the session timeout (a new member's rebalance by
#: about the whole): short sessions keep group tests fast.
FAST_GROUP = {"session_timeout_ms": 3000, "heartbeat_interval_ms": 200}


@contextlib.asynccontextmanager
async def producer(bootstrap: str, **options: object) -> AsyncIterator[AIOKafkaProducer]:
    client = AIOKafkaProducer(bootstrap_servers=bootstrap, **options)
    await client.start()
    try:
        yield client
    finally:
        await client.stop()


async def partitions_of(bootstrap: str, topic: str) -> list[int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
        return sorted(p["partition"] for p in described["partitions"])
    finally:
        await admin.close()


async def test_admin_topic_creation(kafka_broker: str, kafka_topic_factory: TopicFactory) -> None:
    topic = await kafka_topic_factory(partitions=5)
    assert await partitions_of(kafka_broker, topic) == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("kafka_topic", [2], indirect=True)
async def test_kafka_topic_partitions_can_be_chosen(kafka_broker: str, kafka_topic: str) -> None:
    assert await partitions_of(kafka_broker, kafka_topic) == [0, 1]


async def test_idempotent_producer_is_rejected(kafka_broker: str) -> None:
    client = AIOKafkaProducer(bootstrap_servers=kafka_broker, enable_idempotence=True)
    try:
        # The producer asks for a producer id (InitProducerId) while starting.
        with pytest.raises(KafkaError, match="UnknownError"):
            await asyncio.wait_for(client.start(), timeout=30)
    finally:
        await client.stop()


async def test_acks_all_and_headers_round_trip(kafka_broker: str, kafka_topic: str) -> None:
    headers = [("content-type", b"application/json"), ("seq", b"42")]
    async with producer(kafka_broker, acks="all", enable_idempotence=False) as client:
        sent = await client.send_and_wait(
            kafka_topic, b'{"op": "c"}', key=b"ns/name", headers=headers, partition=1
        )
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_broker, auto_offset_reset="earliest")
    await consumer.start()
    try:
        consumer.assign([TopicPartition(kafka_topic, 1)])
        record = await asyncio.wait_for(consumer.getone(), timeout=30)
    finally:
        await consumer.stop()
    assert (record.offset, record.key, record.value) == (sent.offset, b"ns/name", b'{"op": "c"}')
    assert list(record.headers) == headers


@pytest.mark.parametrize("kafka_topic", [4], indirect=True)
async def test_consumer_group_shares_partitions(kafka_broker: str, kafka_topic: str) -> None:
    group = f"group-{uuid.uuid4().hex[:8]}"
    members = [
        AIOKafkaConsumer(
            kafka_topic,
            bootstrap_servers=kafka_broker,
            group_id=group,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
            **FAST_GROUP,
        )
        for _ in range(2)
    ]
    for member in members:
        await member.start()
    try:
        await wait_for_split(members, total=4)
        async with producer(kafka_broker, acks="all") as client:
            for partition in range(4):
                await client.send_and_wait(kafka_topic, b"v", key=b"k", partition=partition)
        received = await drain(members, expected=4)
        assert all(received), "every member consumed its own partitions"
        assert sorted(p for got in received for p in got) == [0, 1, 2, 3]
        for member in members:
            await member.commit()
    finally:
        for member in members:
            await member.stop()


async def wait_for_split(members: list[AIOKafkaConsumer], *, total: int) -> None:
    """Poll until the members together own all partitions, each owning some, none shared."""
    deadline = time.monotonic() + 60
    while True:
        owned = [{tp.partition for tp in m.assignment()} for m in members]
        if all(owned) and sum(map(len, owned)) == total == len(set().union(*owned)):
            return
        assert time.monotonic() < deadline, f"no balanced assignment: {owned}"
        await asyncio.gather(*(m.getmany(timeout_ms=100) for m in members))


async def drain(members: list[AIOKafkaConsumer], *, expected: int) -> list[list[int]]:
    received: list[list[int]] = [[] for _ in members]
    deadline = time.monotonic() + 30
    while sum(map(len, received)) < expected:
        assert time.monotonic() < deadline, f"only received {received}"
        batches = await asyncio.gather(*(m.getmany(timeout_ms=200) for m in members))
        for got, batch in zip(received, batches, strict=True):
            got.extend(tp.partition for tp, records in batch.items() for _ in records)
    return received


async def test_own_broker_starts_and_stops_without_leftovers(tmp_path: Path) -> None:
    broker = await start_kafka_broker(log_path=tmp_path / "kafka.log")
    try:
        await wait_for_kafka(broker.bootstrap_servers, timeout_s=10)
    finally:
        await broker.astop()
    assert not pid_exists(broker.pid)
    assert not port_accepts(broker.host, broker.port)
    with pytest.raises(TimeoutError):
        await wait_for_kafka(broker.bootstrap_servers, timeout_s=0.5)
