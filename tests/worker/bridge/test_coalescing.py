"""Coalescing in the bridge: several events of one key in one poll batch are handed over as
the newest one, but a delete is never coalesced away (the old incarnation is compensated)."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import Engine

from persistence.writing import Content, create_appconfig, delete_appconfig, update_appconfig
from tests.support.waiting import eventually
from tests.worker.bridge.conftest import outbox_messages, produce, running_bridge
from vocabulary import OP_DELETE, OP_UPSERT
from worker.bridge import coalesce
from workflows.contracts import ChangeEvent

SPEC = {"app": "web", "environment": "dev"}


def write_history(engine: Engine) -> None:
    """``ns/k``: create 1, update 2, delete 3, recreate 4; ``ns/j``: create 5, update 6."""
    create_appconfig(engine, namespace="ns", name="k", content=Content(SPEC, {}, {}), actor="t")
    update_appconfig(
        engine,
        namespace="ns",
        name="k",
        content=Content({**SPEC, "replicas": 2}, {}, {}),
        expected_version=None,
        actor="t",
    )
    delete_appconfig(engine, namespace="ns", name="k", expected_version=None, actor="t")
    create_appconfig(engine, namespace="ns", name="k", content=Content(SPEC, {}, {}), actor="t")
    create_appconfig(engine, namespace="ns", name="j", content=Content(SPEC, {}, {}), actor="t")
    update_appconfig(
        engine,
        namespace="ns",
        name="j",
        content=Content({**SPEC, "replicas": 3}, {}, {}),
        expected_version=None,
        actor="t",
    )


@pytest.mark.parametrize("kafka_topic", [1], indirect=True)
async def test_a_delete_in_a_batch_is_handed_over_before_the_recreate(
    engine: Engine, kafka_broker: str, kafka_topic: str
) -> None:
    await asyncio.to_thread(write_history, engine)
    # All on the topic before the bridge starts: its first poll takes them as one batch.
    await produce(kafka_broker, kafka_topic, outbox_messages(engine))
    async with running_bridge(bootstrap=kafka_broker, topic=kafka_topic, engine=engine) as bridge:
        recorded = bridge.signaller

        async def handed_over() -> bool:
            bridge.alive()
            return (OP_UPSERT, 4) in recorded.of("ns/k") and (OP_UPSERT, 6) in recorded.of("ns/j")

        await eventually(handed_over, timeout_s=30, what="the newest events of both keys")
    # The delete 3 comes first, so the workflow compensates the incarnation of 1 and 2 before
    # it applies 4; the upserts 1, 2 and 5 are superseded and coalesced.
    assert recorded.of("ns/k") == [(OP_DELETE, 3), (OP_UPSERT, 4)]
    assert recorded.of("ns/j") == [(OP_UPSERT, 6)]


def event(op: str, seq: int, key: str = "ns/k") -> ChangeEvent:
    return ChangeEvent(key=key, seq=seq, op=op)


def test_coalesce_keeps_the_newest_delete_before_the_newest_event() -> None:
    batch = [
        event(OP_UPSERT, 1),
        event(OP_DELETE, 2),
        event(OP_UPSERT, 3),
        event(OP_DELETE, 4),
        event(OP_UPSERT, 5),
        event(OP_UPSERT, 6, key="ns/j"),
        event(OP_UPSERT, 7, key="ns/j"),
        event(OP_UPSERT, 8, key="ns/d"),
        event(OP_DELETE, 9, key="ns/d"),
        event(OP_DELETE, 9, key="ns/d"),  # a redelivery
    ]
    ops = [[(e.op, e.seq) for e in events] for events in coalesce(batch)]
    assert ops == [
        [(OP_DELETE, 4), (OP_UPSERT, 5)],
        [(OP_UPSERT, 7)],
        [(OP_DELETE, 9)],
    ]
