"""PostgreSQL row locking of the writes that race the REST API or each other: the purge of a
tombstone against a recreate, and concurrent applied-version reports. Each interleaving is
forced by holding a transaction open until the other writer is seen waiting on its lock."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Connection, Engine, text

from persistence import syncstatus
from persistence.reading import get_row
from persistence.writing import Content, create_appconfig, delete_appconfig
from tests.fixtures.services import migrated_engine
from tests.support.waiting import wait_until

SPEC = {"app": "web", "environment": "dev"}


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    with migrated_engine(postgres_url) as engine:
        yield engine


def waiting_on_a_lock(engine: Engine) -> bool:
    """Some other backend of this database waits for a lock (pg_stat_activity)."""
    query = text(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
    )
    with engine.connect() as conn:
        return bool(conn.execute(query).scalar_one())


def run_while_locked(
    engine: Engine, hold: Callable[[Connection], None], call: Callable[[], Any]
) -> Any:
    """Run ``hold`` in an open transaction, start ``call`` in a thread, wait until ``call``
    blocks on that transaction's locks, commit, and return what ``call`` returned."""
    result: dict[str, Any] = {}

    def target() -> None:
        try:
            result["value"] = call()
        except BaseException as err:  # reported in the test's thread
            result["error"] = err

    with engine.connect() as conn:
        transaction = conn.begin()
        hold(conn)
        thread = threading.Thread(target=target, daemon=True)
        thread.start()
        wait_until(lambda: waiting_on_a_lock(engine), what="the call to wait on the row lock")
        transaction.commit()
    thread.join(timeout=30)
    assert not thread.is_alive(), "the call never returned"
    if "error" in result:
        raise result["error"]
    return result["value"]


def test_a_recreate_committed_during_the_purge_keeps_its_row(engine: Engine) -> None:
    create_appconfig(engine, namespace="ns", name="web", content=Content(SPEC, {}, {}), actor="t")
    tombstone = delete_appconfig(
        engine, namespace="ns", name="web", expected_version=None, actor="t"
    )

    def revive(conn: Connection) -> None:
        # What a POST reviving the key writes over the tombstone, not yet committed.
        conn.execute(
            text(
                "UPDATE appconfigs SET deleted = false, seq = :seq, uid = 'revived' "
                "WHERE namespace = 'ns' AND name = 'web'"
            ),
            {"seq": tombstone.seq + 1},
        )

    def purge() -> bool:
        return syncstatus.finish_delete(engine, namespace="ns", name="web", version=tombstone.seq)

    purged = run_while_locked(engine, revive, purge)
    row = get_row(engine, namespace="ns", name="web")
    assert row is not None, "the purge of the old tombstone deleted the recreated row"
    assert (row.uid, row.deleted, row.seq) == ("revived", False, tombstone.seq + 1)
    assert purged is False


def applied(engine: Engine, target: str = "git") -> int:
    rows = {r.target: r for r in syncstatus.list_status(engine, namespace="ns")}
    return rows[target].applied_version


def test_a_lower_applied_report_waiting_on_a_higher_one_keeps_the_higher(engine: Engine) -> None:
    syncstatus.record_applied(
        engine, namespace="ns", name="web", target="git", version=3, detail="c3"
    )

    def report_seven(conn: Connection) -> None:
        # Another report, for version 7, holds the status row until it commits.
        conn.execute(
            text(
                "UPDATE sync_status SET applied_version = 7, detail = 'c7' "
                "WHERE namespace = 'ns' AND name = 'web' AND target = 'git'"
            )
        )

    def report_five() -> None:
        syncstatus.record_applied(
            engine, namespace="ns", name="web", target="git", version=5, detail="c5"
        )

    run_while_locked(engine, report_seven, report_five)
    assert applied(engine) == 7, "a report of version 5 overwrote the applied version 7"


def test_concurrent_first_reports_of_a_target_both_succeed(engine: Engine) -> None:
    def hold_insert(conn: Connection) -> None:
        conn.execute(
            text(
                "INSERT INTO sync_status (namespace, name, target, applied_version, detail, "
                "last_error, attempts, failed_version, updated_at) "
                "VALUES ('ns', 'web', 'git', 7, 'c7', '', 0, 0, now())"
            )
        )

    def report_five() -> None:
        syncstatus.record_applied(
            engine, namespace="ns", name="web", target="git", version=5, detail="c5"
        )

    run_while_locked(engine, hold_insert, report_five)
    assert applied(engine) == 7
