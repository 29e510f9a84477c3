"""Fixtures for the bridge: a database holding real rows, messages produced to a real broker,
and a bridge whose hand-overs to Temporal are recorded instead of signalled."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord
from sqlalchemy import Engine

from persistence import outbox
from tests.support.signalling import RecordingSignaller
from worker.bridge import Bridge, BridgeConfig

Message = tuple[bytes | None, bytes | None]


@pytest.fixture
def engine(sqlite_engine: Engine) -> Engine:
    return sqlite_engine


@dataclass
class RunningBridge:
    task: asyncio.Task[None]
    signaller: RecordingSignaller
    dlq_topic: str
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    def alive(self) -> None:
        """Raise what the bridge died of, if it did (a wait on it then fails at once)."""
        if self.task.done():
            self.task.result()
            raise AssertionError("the bridge stopped on its own")


@contextlib.asynccontextmanager
async def running_bridge(
    *,
    bootstrap: str,
    topic: str,
    engine: Engine,
    signaller: RecordingSignaller | None = None,
    **overrides: Any,
) -> AsyncIterator[RunningBridge]:
    """A bridge on ``topic`` (``overrides``: BridgeConfig fields), stopped on exit."""
    config = BridgeConfig(
        bootstrap_servers=bootstrap,
        topic=topic,
        group_id=f"{topic}-bridge",
        dlq_topic=f"{topic}.dlq",
        session_timeout_ms=3000,
        heartbeat_interval_ms=200,
        **overrides,
    )
    signaller = signaller or RecordingSignaller()
    stop = asyncio.Event()
    bridge = Bridge(config, signaller, engine=engine)
    task = asyncio.create_task(bridge.run(stop=stop))
    running = RunningBridge(task, signaller, config.dlq_topic, stop)
    try:
        yield running
    finally:
        stop.set()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(task, timeout=30)


async def produce(bootstrap: str, topic: str, messages: list[Message]) -> None:
    """Send ``messages`` (key, value) in order and wait for the broker's acknowledgements."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for key, value in messages:
            await producer.send_and_wait(topic, key=key, value=value)
    finally:
        await producer.stop()


def outbox_messages(engine: Engine) -> list[Message]:
    """Every change the database committed, as the relay publishes it, in seq order."""
    pending = outbox.fetch_unpublished(engine, limit=10_000)
    return [(p.key.encode(), p.envelope.encode()) for p in pending]


async def dlq_records(
    bootstrap: str, topic: str, expected: int, *, timeout_s: float = 30
) -> list[ConsumerRecord[bytes, bytes]]:
    """The first ``expected`` records of the DLQ topic (fails after ``timeout_s``)."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    seen: list[ConsumerRecord[bytes, bytes]] = []
    try:
        async with asyncio.timeout(timeout_s):
            while len(seen) < expected:
                batch = await consumer.getmany(timeout_ms=300)
                for records in batch.values():
                    seen.extend(records)
    finally:
        await consumer.stop()
    return seen
