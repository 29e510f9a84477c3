"""The shared service fixtures: what each one yields, and the database parametrization."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from aiokafka.admin import AIOKafkaAdminClient

from rendersync.devstack.services.childprocesses import port_accepts
from rendersync.devstack.services.temporal import TemporalDevServer
from tests.support.postgres import PostgresServer


def test_db_url_runs_on_both_databases(db_url: str, request: pytest.FixtureRequest) -> None:
    backend = request.node.callspec.params["db_url"]
    assert db_url.startswith({"sqlite": "sqlite:///", "postgres": "postgresql+psycopg://"}[backend])
    engine = sa.create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY)"))
            conn.execute(sa.text("INSERT INTO t (id) VALUES (1)"))
        with engine.connect() as conn:
            assert conn.execute(sa.text("SELECT count(*) FROM t")).scalar() == 1
    finally:
        engine.dispose()


def test_db_url_ids_and_marks(db_url: str, request: pytest.FixtureRequest) -> None:
    backend = request.node.callspec.id
    assert backend in ("sqlite", "postgres")
    marked = request.node.get_closest_marker("postgres") is not None
    assert marked == (backend == "postgres")


def test_sqlite_url_is_in_tmp_path(sqlite_url: str, tmp_path: Path) -> None:
    assert sqlite_url == f"sqlite:///{tmp_path}/rendersync.db"


def test_servers_listen_on_loopback(
    temporal_server: TemporalDevServer, kafka_broker: str, postgres_server: PostgresServer
) -> None:
    for address in (kafka_broker, temporal_server.address):
        host, port = address.rsplit(":", 1)
        assert host == "127.0.0.1"
        assert port_accepts(host, int(port))
    assert postgres_server.host == "127.0.0.1"


async def test_kafka_topic_defaults_to_three_partitions(
    kafka_broker: str, kafka_topic: str
) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_broker)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([kafka_topic])
    finally:
        await admin.close()
    assert len(described["partitions"]) == 3
