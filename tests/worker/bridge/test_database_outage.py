"""A database that does not answer pauses the bridge: nothing is handed over or committed
while it checks events against the rows, and nothing is lost once it answers again."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import Engine

from persistence.db import make_engine
from persistence.writing import Content, create_appconfig
from rendersync.devstack.services.childprocesses import free_port
from tests.support.waiting import eventually
from tests.worker.bridge.conftest import outbox_messages, produce, running_bridge
from vocabulary import OP_UPSERT

SPEC = {"app": "web", "environment": "dev"}


@pytest.mark.parametrize("kafka_topic", [1], indirect=True)
async def test_an_unreachable_database_pauses_the_bridge_and_loses_nothing(
    engine: Engine, kafka_broker: str, kafka_topic: str, caplog: pytest.LogCaptureFixture
) -> None:
    content = Content(SPEC, {}, {})
    await asyncio.to_thread(
        create_appconfig, engine, namespace="ns", name="k", content=content, actor="t"
    )
    await produce(kafka_broker, kafka_topic, outbox_messages(engine))
    unreachable = make_engine(f"postgresql+psycopg://rs@127.0.0.1:{free_port()}/rs")
    try:
        async with running_bridge(
            bootstrap=kafka_broker, topic=kafka_topic, engine=unreachable
        ) as paused:

            async def retrying() -> bool:
                paused.alive()
                return sum("database read failed" in r.getMessage() for r in caplog.records) >= 2

            await eventually(retrying, timeout_s=30, what="the bridge to retry the database")
            assert paused.signaller.events == []
        assert paused.task.done()
        assert paused.task.exception() is None  # stopped cleanly
    finally:
        unreachable.dispose()
    # Nothing was committed: the same consumer group gets the event once the database answers.
    async with running_bridge(bootstrap=kafka_broker, topic=kafka_topic, engine=engine) as bridge:

        async def handed_over() -> bool:
            bridge.alive()
            return bridge.signaller.of("ns/k") == [(OP_UPSERT, 1)]

        await eventually(handed_over, timeout_s=30, what="the event after the outage")
