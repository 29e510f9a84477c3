"""Debezium with REPLICA IDENTITY DEFAULT: an update that leaves a TOASTed json column
unchanged sends it as the unavailable-value placeholder. The image is incomplete, so the
bridge hands over the row's image (the row decides); and the migration sets REPLICA
IDENTITY FULL on PostgreSQL so a real connector sends whole images."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from persistence.db import make_engine, write_session
from persistence.envelopes import envelope, row_image
from persistence.migrating import upgrade
from persistence.reading import get_row
from persistence.tables import AppConfigRow
from persistence.writing import Content, create_appconfig, delete_appconfig, update_appconfig
from tests.support.waiting import eventually
from tests.worker.bridge.conftest import Message, dlq_records, produce, running_bridge
from vocabulary import OP_DELETE, OP_UPSERT

#: What Debezium sends for a value it did not get (``unavailable.value.placeholder``).
UNAVAILABLE = "__debezium_unavailable_value"
#: Large and random enough that PostgreSQL stores the spec out of line (TOAST, over ~2 KB).
BIG = {
    "app": "web",
    "environment": "dev",
    "data": {f"k{i}": os.urandom(45).hex() for i in range(60)},
}
SMALL = {"app": "web", "environment": "dev"}


@pytest.fixture
def any_engine(db_engine: Engine) -> Engine:
    return db_engine


def create(engine: Engine, name: str, spec: dict[str, Any] = SMALL) -> None:
    create_appconfig(engine, namespace="ns", name=name, content=Content(spec, {}, {}), actor="t")


def debezium_update(engine: Engine, name: str, seq: int, **columns: Any) -> Message:
    """What Debezium sends for the update of ``ns/name`` to ``seq`` with REPLICA IDENTITY
    DEFAULT: the json columns it did not get from the WAL are the placeholder."""
    row = get_row(engine, namespace="ns", name=name)
    assert row is not None
    after = {**row_image(row), "seq": seq, "spec": UNAVAILABLE, **columns}
    change = envelope(
        op="u", before=None, after=after, seq=seq, committed_at=datetime.now(UTC), database="rs"
    )
    return f"ns/{name}".encode(), json.dumps(change).encode()


def history(engine: Engine) -> list[Message]:
    create(engine, "k", BIG)  # 1
    labels = Content(BIG, {"team": "a"}, {})  # 2: the spec is unchanged, so not in the WAL
    update_appconfig(
        engine, namespace="ns", name="k", content=labels, expected_version=None, actor="t"
    )
    messages = [debezium_update(engine, "k", 2)]
    create(engine, "p")  # 3
    messages.append(debezium_update(engine, "p", 3))
    delete_appconfig(engine, namespace="ns", name="p", expected_version=None, actor="t")  # 4
    with write_session(engine) as session:  # the tombstone purged: its delete was compensated
        session.execute(sa.delete(AppConfigRow).where(sa.column("name") == "p"))
    create(engine, "t")  # 5
    messages.append(debezium_update(engine, "t", 5))
    delete_appconfig(engine, namespace="ns", name="t", expected_version=None, actor="t")  # 6
    messages.append(debezium_update(engine, "t", 6))  # a tombstone: a delete, image or not
    create(engine, "o")  # 7
    create(engine, "z")  # 8
    messages.append(debezium_update(engine, "o", 8))  # a version the row of o never had
    create(engine, "r")  # 9
    messages.append(debezium_update(engine, "r", 9))
    delete_appconfig(engine, namespace="ns", name="r", expected_version=None, actor="t")  # 10
    create(engine, "r")  # 11: another incarnation; the events of 10 and 11 follow
    return messages


@pytest.mark.parametrize("kafka_topic", [1], indirect=True)
async def test_an_incomplete_image_is_replaced_by_the_row(
    any_engine: Engine, kafka_broker: str, kafka_topic: str
) -> None:
    messages = await asyncio.to_thread(history, any_engine)
    await produce(kafka_broker, kafka_topic, messages)
    async with running_bridge(
        bootstrap=kafka_broker, topic=kafka_topic, engine=any_engine
    ) as bridge:
        recorded = bridge.signaller

        async def resolved() -> bool:
            bridge.alive()
            return (OP_UPSERT, 2) in recorded.of("ns/k") and (OP_DELETE, 6) in recorded.of("ns/t")

        await eventually(resolved, timeout_s=30, what="the incomplete images resolved")
        dead = await dlq_records(kafka_broker, bridge.dlq_topic, 1)
    assert recorded.of("ns/k") == [(OP_UPSERT, 2)]
    event = next(e for e in recorded.events if e.key == "ns/k")
    assert event.image is not None
    assert (event.image.spec, event.image.labels) == (BIG, {"team": "a"})
    assert event.committed_at_ms > 0  # the change's own commit time: the row is at its version
    assert recorded.of("ns/p") == []  # purged: nothing left to do
    assert recorded.of("ns/t") == [(OP_DELETE, 6)]
    assert recorded.of("ns/o") == []
    assert recorded.of("ns/r") == []  # not the recreate 11 before the delete 10
    assert [r.key for r in dead] == [b"ns/o"]
    assert b"never" in dict(dead[0].headers)["rendersync-error"]


def test_migration_sets_replica_identity_full_on_postgresql(postgres_url: str) -> None:
    engine = make_engine(postgres_url)
    try:
        upgrade(engine)
        with engine.connect() as conn:
            identity = conn.execute(
                sa.text("SELECT relreplident FROM pg_class WHERE relname = 'appconfigs'")
            ).scalar_one()
    finally:
        engine.dispose()
    assert identity == "f", "appconfigs does not log whole rows for Debezium"


def test_migration_is_a_no_op_on_sqlite(sqlite_url: str) -> None:
    engine = make_engine(sqlite_url)
    try:
        upgrade(engine)
        upgrade(engine)  # idempotent
        create(engine, "k")
        assert get_row(engine, namespace="ns", name="k") is not None
    finally:
        engine.dispose()
