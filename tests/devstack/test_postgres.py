"""PostgreSQL launcher: fresh databases, both URL forms, running as root, clean shutdown."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from rendersync.devstack.services.childprocesses import pid_exists, port_accepts
from tests.support.pgaccount import copy_pginstall
from tests.support.postgres import PostgresServer, pginstall_dir, start_postgres

pytestmark = pytest.mark.postgres

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="only meaningful when running as root")


def scalar(url: str, query: str) -> object:
    """Run ``query`` in its own transaction; return the first column of its first row, if any."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(sa.text(query))
            return result.scalar() if result.returns_rows else None
    finally:
        engine.dispose()


def child_pids(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in children]


def uid_of(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return int(line.split()[1])
    raise AssertionError("no Uid line")


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A temporary directory the server's (possibly unprivileged) account can traverse."""
    path = Path(tempfile.mkdtemp(prefix="rendersync-test-"))
    path.chmod(0o711)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_fresh_database_works_with_sqlalchemy_and_psycopg(
    postgres_url: str, postgres_server: PostgresServer
) -> None:
    assert postgres_url.startswith("postgresql+psycopg://")
    scalar(postgres_url, "CREATE TABLE t (id int PRIMARY KEY)")
    scalar(postgres_url, "INSERT INTO t VALUES (1)")
    name = postgres_url.rsplit("/", 1)[1]
    with psycopg.connect(postgres_server.conninfo(name)) as conn:
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (1,)


def test_databases_are_isolated(postgres_server: PostgresServer) -> None:
    first, second = postgres_server.create_database(), postgres_server.create_database()
    assert first != second
    scalar(first, "CREATE TABLE only_here (id int)")
    assert scalar(second, "SELECT to_regclass('only_here') IS NULL") is True
    name = first.rsplit("/", 1)[1]
    postgres_server.drop_database(name)
    query = f"SELECT count(*) FROM pg_database WHERE datname = '{name}'"
    assert scalar(postgres_server.url(), query) == 0


def test_unix_socket_url(postgres_server: PostgresServer) -> None:
    url = postgres_server.socket_url()
    assert "host=" in url
    assert scalar(url, "SELECT inet_server_addr() IS NULL") is True  # a socket, not TCP


def test_server_never_runs_as_root(postgres_server: PostgresServer) -> None:
    assert uid_of(postgres_server.pid) != 0


async def test_stop_leaves_no_process_or_files(shared_dir: Path) -> None:
    server = await start_postgres(data_dir=shared_dir / "pgdata", log_path=shared_dir / "pg.log")
    try:
        scalar(server.url(), "CREATE TABLE kept (id int)")
        workers = child_pids(server.pid)
        assert workers, "the postmaster has background workers"
    finally:
        await server.astop()
    assert not pid_exists(server.pid)
    assert not any(pid_exists(pid) for pid in workers)
    assert not port_accepts(server.host, server.port)
    assert not server.run_dir.exists()
    assert (shared_dir / "pgdata" / "PG_VERSION").exists()

    again = await start_postgres(data_dir=shared_dir / "pgdata")
    try:
        assert scalar(again.url(), "SELECT to_regclass('kept') IS NOT NULL") is True
    finally:
        await again.astop()
    assert not pid_exists(again.pid)


@as_root
async def test_binaries_unreachable_for_the_server_account_are_copied() -> None:
    private = Path(tempfile.mkdtemp(prefix="rendersync-private-"))  # 0700, owned by root
    try:
        pginstall = copy_pginstall(pginstall_dir(), private)
        server = await start_postgres(pginstall=pginstall)
        try:
            assert str(server.run_dir) in server.process.argv[0]
            assert scalar(server.url(), "SELECT 1") == 1
        finally:
            await server.astop()
        assert not pid_exists(server.pid)
    finally:
        shutil.rmtree(private, ignore_errors=True)
