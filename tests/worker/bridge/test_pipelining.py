"""Pipelining in the bridge: it keeps polling while signals of earlier batches are in flight,
keeps each key's signals in offset order, and commits each partition only up to its highest
contiguous finished offset. Signals go to a real Temporal server; a gate holds chosen keys'
signals back to play a slow signal-with-start."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from sqlalchemy import Engine
from temporalio.client import Client

from persistence.writing import Content, create_appconfig, update_appconfig
from tests.support.signalling import RecordingSignaller
from tests.support.waiting import eventually
from tests.worker.bridge.conftest import (
    Message,
    RunningBridge,
    outbox_messages,
    produce,
    running_bridge,
)
from vocabulary import OP_UPSERT, workflow_id_for
from worker.signalling import Signaller
from workflows.contracts import SIGNAL_CHANGE, ChangeEvent, SyncOptions

SPEC = {"app": "web", "environment": "dev"}


class GatedSignaller(RecordingSignaller):
    """Signals a real Temporal server; the signals of a ``held`` key wait until released.
    ``events`` holds what Temporal accepted, ``entered`` every delivery begun, and
    ``most_at_once`` the most deliveries of one key that were ever in progress together."""

    def __init__(self, client: Client, *, held: set[str]) -> None:
        Signaller.__init__(
            self, client, task_queue=f"idle-{uuid.uuid4().hex[:8]}", options=SyncOptions()
        )
        self.events = []
        self.held = held
        self.released = asyncio.Event()
        self.entered: list[tuple[str, int]] = []
        self.running: dict[str, int] = {}
        self.most_at_once = 0

    async def deliver(self, event: ChangeEvent, *, stop: asyncio.Event) -> bool:
        self.entered.append((event.key, event.seq))
        self.running[event.key] = self.running.get(event.key, 0) + 1
        self.most_at_once = max(self.most_at_once, self.running[event.key])
        try:
            if event.key in self.held:
                await self.released.wait()
            accepted = await Signaller.deliver(self, event, stop=stop)
        finally:
            self.running[event.key] -= 1
        if accepted:
            self.events.append(event)
        return accepted

    def seqs(self, key: str) -> list[int]:
        return [seq for _, seq in self.of(key)]


class History:
    """The rows written so far and their change events, in seq order."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.ns = f"p{uuid.uuid4().hex[:8]}"
        self.messages: list[Message] = []

    def key(self, name: str) -> str:
        return f"{self.ns}/{name}"

    async def write(self, name: str, replicas: int = 1) -> Message:
        """Create ``name`` (or update it to ``replicas``); its change event."""
        await asyncio.to_thread(self._write, name, replicas)
        messages = outbox_messages(self.engine)
        new = messages[len(self.messages)]
        self.messages = messages
        return new

    def _write(self, name: str, replicas: int) -> None:
        content = Content({**SPEC, "replicas": replicas}, {}, {})
        if replicas == 1:
            create_appconfig(self.engine, namespace=self.ns, name=name, content=content, actor="t")
        else:
            update_appconfig(
                self.engine,
                namespace=self.ns,
                name=name,
                content=content,
                expected_version=None,
                actor="t",
            )


@pytest.fixture
def history(engine: Engine) -> History:
    return History(engine)


@contextlib.asynccontextmanager
async def gated_bridge(
    kafka_broker: str, topic: str, engine: Engine, client: Client, held: set[str]
) -> AsyncIterator[tuple[RunningBridge, GatedSignaller]]:
    signaller = GatedSignaller(client, held=held)
    try:
        async with running_bridge(
            bootstrap=kafka_broker, topic=topic, engine=engine, signaller=signaller
        ) as bridge:
            yield bridge, signaller
    finally:
        signaller.released.set()


async def signalled(bridge: RunningBridge, signaller: GatedSignaller, key: str, seq: int) -> None:
    async def accepted() -> bool:
        bridge.alive()
        return seq in signaller.seqs(key)

    await eventually(accepted, timeout_s=30, what=f"{key}@{seq} accepted by Temporal")


async def entered(bridge: RunningBridge, signaller: GatedSignaller, key: str, seq: int) -> None:
    async def begun() -> bool:
        bridge.alive()
        return (key, seq) in signaller.entered

    await eventually(begun, timeout_s=30, what=f"the delivery of {key}@{seq} to begin")


async def committed(kafka_broker: str, topic: str) -> int | None:
    """The bridge group's committed offset of partition 0 (None: nothing committed)."""
    reader = AIOKafkaConsumer(
        bootstrap_servers=kafka_broker, group_id=f"{topic}-bridge", enable_auto_commit=False
    )
    await reader.start()
    try:
        offset: int | None = await reader.committed(TopicPartition(topic, 0))
        return offset
    finally:
        await reader.stop()


async def temporal_seqs(client: Client, key: str) -> list[int]:
    """The seqs of the change signals the key's workflow received, in history order."""
    history = await client.get_workflow_handle(workflow_id_for(key)).fetch_history()
    seqs = []
    for event in history.events:
        if event.HasField("workflow_execution_signaled_event_attributes"):
            attributes = event.workflow_execution_signaled_event_attributes
            assert attributes.signal_name == SIGNAL_CHANGE
            [change] = await client.data_converter.decode(attributes.input.payloads, [ChangeEvent])
            seqs.append(change.seq)
    return seqs


@pytest.mark.parametrize("kafka_topic", [1], indirect=True)
async def test_a_slow_signal_does_not_hold_back_later_polls(
    history: History, kafka_broker: str, kafka_topic: str, temporal_client: Client
) -> None:
    slow, fast = history.key("slow"), history.key("fast")
    first = await history.write("slow")
    async with gated_bridge(
        kafka_broker, kafka_topic, history.engine, temporal_client, held={slow}
    ) as (bridge, signaller):
        await produce(kafka_broker, kafka_topic, [first])
        await entered(bridge, signaller, slow, 1)
        # On the same partition, after the slow message, and polled while it is in flight.
        await produce(kafka_broker, kafka_topic, [await history.write("fast")])
        await signalled(bridge, signaller, fast, 2)
        assert signaller.of(slow) == []
        signaller.released.set()
        await signalled(bridge, signaller, slow, 1)
    assert await temporal_seqs(temporal_client, fast) == [2]
    assert await temporal_seqs(temporal_client, slow) == [1]


@pytest.mark.parametrize("kafka_topic", [1], indirect=True)
async def test_commits_stop_at_the_highest_contiguous_finished_offset(
    history: History, kafka_broker: str, kafka_topic: str, temporal_client: Client
) -> None:
    # Offsets 0: a, 1: slow, 2: b, 3: c; all on the topic before the bridge polls.
    for name in ("a", "slow", "b", "c"):
        await history.write(name)
    await produce(kafka_broker, kafka_topic, history.messages)
    async with gated_bridge(
        kafka_broker, kafka_topic, history.engine, temporal_client, held={history.key("slow")}
    ) as (bridge, signaller):
        for name, seq in (("a", 1), ("b", 3), ("c", 4)):
            await signalled(bridge, signaller, history.key(name), seq)

        async def commit_seen() -> bool:
            bridge.alive()
            return await committed(kafka_broker, kafka_topic) is not None

        await eventually(commit_seen, timeout_s=30, what="a commit while offset 1 is in flight")
        # Offsets 2 and 3 finished, but 1 did not: the commit stops after offset 0.
        assert await committed(kafka_broker, kafka_topic) == 1
        assert signaller.of(history.key("slow")) == []
        signaller.released.set()

        async def all_committed() -> bool:
            bridge.alive()
            return await committed(kafka_broker, kafka_topic) == 4

        await eventually(all_committed, timeout_s=30, what="every offset committed")


@pytest.mark.parametrize("kafka_topic", [1], indirect=True)
async def test_a_keys_signals_stay_in_order_across_polls(
    history: History, kafka_broker: str, kafka_topic: str, temporal_client: Client
) -> None:
    key = history.key("k")
    async with gated_bridge(
        kafka_broker, kafka_topic, history.engine, temporal_client, held={key}
    ) as (bridge, signaller):
        await produce(kafka_broker, kafka_topic, [await history.write("k")])  # seq 1, held
        await entered(bridge, signaller, key, 1)
        # Two more polls, each with a newer version of k and an event of another key, which
        # is signalled while k waits: so each poll was taken while k@1 was in flight.
        for replicas, other in ((2, "x"), (3, "y")):
            await produce(
                kafka_broker,
                kafka_topic,
                [await history.write("k", replicas), await history.write(other)],
            )
            await signalled(bridge, signaller, history.key(other), len(history.messages))
        assert [e for e in signaller.entered if e[0] == key] == [(key, 1)], "k@1 overtaken"
        signaller.released.set()
        await signalled(bridge, signaller, key, 4)
    assert signaller.seqs(key) == [1, 2, 4]
    assert signaller.most_at_once == 1
    assert await temporal_seqs(temporal_client, key) == [1, 2, 4]


@pytest.mark.parametrize("kafka_topic", [1], indirect=True)
async def test_a_stopped_bridge_commits_only_what_finished_and_redelivers_the_rest(
    history: History, kafka_broker: str, kafka_topic: str, temporal_client: Client
) -> None:
    for name in ("a", "slow", "b"):  # offsets 0, 1, 2
        await history.write(name)
    await produce(kafka_broker, kafka_topic, history.messages)
    slow = history.key("slow")
    signaller = GatedSignaller(temporal_client, held={slow})
    async with running_bridge(
        bootstrap=kafka_broker,
        topic=kafka_topic,
        engine=history.engine,
        signaller=signaller,
        revoke_grace_s=0.5,
    ) as first:
        await signalled(first, signaller, history.key("b"), 3)
        await entered(first, signaller, slow, 2)
    # The held signal was cancelled when its grace ran out: only offset 0 is committed.
    assert first.task.exception() is None
    assert signaller.of(slow) == []
    assert await committed(kafka_broker, kafka_topic) == 1
    async with running_bridge(
        bootstrap=kafka_broker, topic=kafka_topic, engine=history.engine
    ) as second:

        async def redelivered() -> bool:
            second.alive()
            return second.signaller.of(slow) == [(OP_UPSERT, 2)]

        await eventually(redelivered, timeout_s=30, what="the next owner to signal slow@2")
    assert second.signaller.of(history.key("a")) == []
