"""Malformed and forged messages: whatever cannot be parsed goes to the DLQ and the partition
keeps flowing; an event whose seq the database never handed out is resolved against the row
(it never reaches the workflow, where it would fence out every real version)."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from sqlalchemy import Engine

from persistence.envelopes import envelope
from persistence.reading import get_row
from persistence.writing import Content, create_appconfig, delete_appconfig, update_appconfig
from tests.support.waiting import eventually
from tests.worker.bridge.conftest import (
    Message,
    RunningBridge,
    dlq_records,
    outbox_messages,
    produce,
    running_bridge,
)
from vocabulary import OP_DELETE, OP_UPSERT

SPEC = {"app": "web", "environment": "dev"}
FORGED = 10**12


def create(engine: Engine, name: str, **spec: Any) -> None:
    content = Content({**SPEC, **spec}, {}, {})
    create_appconfig(engine, namespace="ns", name=name, content=content, actor="t")


def update(engine: Engine, name: str, **spec: Any) -> None:
    content = Content({**SPEC, **spec}, {}, {})
    update_appconfig(
        engine, namespace="ns", name=name, content=content, expected_version=None, actor="t"
    )


def message(name: str, **image: Any) -> Message:
    """A relay-shaped upsert of ``ns/name`` whose row image fields are ``image``."""
    return f"ns/{name}".encode(), encode_row(name, **image)


def encode_row(name: str, **image: Any) -> bytes:
    row = {
        "namespace": "ns",
        "name": name,
        "uid": "forged",
        "seq": 1,
        "generation": 1,
        "spec": json.dumps({**SPEC, "replicas": 9}),
        "labels": "{}",
        "annotations": "{}",
        "deleted": False,
        **image,
    }
    change = envelope(
        op="u", before=None, after=row, seq=1, committed_at=datetime.now(UTC), database="rs"
    )
    return json.dumps(change).encode()


async def handed_over(bridge: RunningBridge, key: str, op: str, seq: int) -> None:
    async def seen() -> bool:
        bridge.alive()
        return (op, seq) in bridge.signaller.of(key)

    await eventually(seen, timeout_s=30, what=f"{op} {key}@{seq} handed over")


@pytest.mark.parametrize("kafka_topic", [1], indirect=True)
async def test_unparseable_messages_go_to_the_dlq_and_the_partition_flows(
    engine: Engine, kafka_broker: str, kafka_topic: str
) -> None:
    def history() -> None:
        create(engine, "k")  # 1
        update(engine, "k", replicas=2)  # 2

    await asyncio.to_thread(history)
    overflowing = encode_row("k", seq=2).replace(b'"generation": 1', b'"generation": 1e400')
    poison = [
        message("k", seq=2, generation="two"),  # ValueError in int()
        message("k", seq=2, generation=[2]),  # TypeError
        (b"ns/k", overflowing),  # OverflowError
        (b"ns/k", b"[" * 100_000 + b"]" * 100_000),  # RecursionError
        message("k", seq=2, labels={"team": 1}),
    ]
    await produce(kafka_broker, kafka_topic, poison + outbox_messages(engine))
    async with running_bridge(bootstrap=kafka_broker, topic=kafka_topic, engine=engine) as bridge:
        await handed_over(bridge, "ns/k", OP_UPSERT, 2)
        dead = await dlq_records(kafka_broker, bridge.dlq_topic, len(poison))
        bridge.alive()
    assert [r.value for r in dead] == [value for _, value in poison]
    for record in dead:
        reasons = dict(record.headers)
        assert reasons["rendersync-error"], "the DLQ record names no reason"
    assert bridge.signaller.of("ns/k") == [(OP_UPSERT, 2)]


@pytest.mark.parametrize("kafka_topic", [1], indirect=True)
async def test_an_event_beyond_the_change_sequence_is_resolved_against_the_row(
    engine: Engine, kafka_broker: str, kafka_topic: str
) -> None:
    def history() -> None:
        create(engine, "k")  # 1
        update(engine, "k", replicas=2)  # 2
        create(engine, "t")  # 3
        delete_appconfig(engine, namespace="ns", name="t", expected_version=None, actor="t")  # 4

        create(engine, "x")  # 5

    await asyncio.to_thread(history)
    row = await asyncio.to_thread(get_row, engine, namespace="ns", name="k")
    assert row is not None
    forged = [
        message("k", seq=FORGED, uid=row.uid),  # a corrupt seq of a real message
        message("t", seq=FORGED, uid=""),  # naming no incarnation
        message("none", seq=FORGED),
        message("x", seq=FORGED, uid="another-incarnation"),
    ]
    await produce(kafka_broker, kafka_topic, forged)
    async with running_bridge(bootstrap=kafka_broker, topic=kafka_topic, engine=engine) as bridge:
        await handed_over(bridge, "ns/k", OP_UPSERT, 2)  # the row's version, not the forged one
        await handed_over(bridge, "ns/t", OP_DELETE, 4)  # the row is a tombstone
        dead = await dlq_records(kafka_broker, bridge.dlq_topic, 2)
        # A real change after the forged one still gets through: nothing was fenced out.
        await asyncio.to_thread(update, engine, "k", replicas=3)
        await produce(kafka_broker, kafka_topic, outbox_messages(engine)[-1:])
        await handed_over(bridge, "ns/k", OP_UPSERT, 6)
    recorded = bridge.signaller
    assert recorded.of("ns/k") == [(OP_UPSERT, 2), (OP_UPSERT, 6)]
    resolved = next(e for e in recorded.events if e.key == "ns/k")
    assert resolved.image is not None
    assert resolved.image.spec == {**SPEC, "replicas": 2}  # the row's image, not the event's
    assert not resolved.force
    assert recorded.of("ns/none") == []
    assert recorded.of("ns/x") == []  # a row of another incarnation does not stand in
    dead.sort(key=lambda r: r.key or b"")  # the DLQ has several partitions
    assert [r.key for r in dead] == [b"ns/none", b"ns/x"]
    reasons = [dict(r.headers)["rendersync-error"] for r in dead]
    assert all(b"change sequence" in reason for reason in reasons)
    assert b"no row" in reasons[0]
    assert b"another uid" in reasons[1]


@pytest.mark.parametrize("kafka_topic", [1], indirect=True)
async def test_a_message_too_large_to_copy_leaves_a_pointer_in_the_dlq(
    engine: Engine, kafka_broker: str, kafka_topic: str
) -> None:
    await asyncio.to_thread(create, engine, "k")
    # Just under the producer's 1 MiB limit: the DLQ copy, with the reason headers, is over it.
    huge = b"x" * (1024 * 1024 - 20)
    producer = AIOKafkaProducer(bootstrap_servers=kafka_broker, max_request_size=2 * 1024 * 1024)
    await producer.start()
    try:
        await producer.send_and_wait(kafka_topic, key=b"ns/k", value=huge)
    finally:
        await producer.stop()
    await produce(kafka_broker, kafka_topic, outbox_messages(engine))
    async with running_bridge(bootstrap=kafka_broker, topic=kafka_topic, engine=engine) as bridge:
        await handed_over(bridge, "ns/k", OP_UPSERT, 1)
        dead = await dlq_records(kafka_broker, bridge.dlq_topic, 1)
    assert dead[0].value is None
    headers = dict(dead[0].headers)
    assert headers["rendersync-value-dropped"] == str(len(huge)).encode()
    assert headers["rendersync-source"] == f"{kafka_topic}/0/0".encode()
