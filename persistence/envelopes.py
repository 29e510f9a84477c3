"""Debezium-compatible change events for the appconfigs table.

``row_image`` renders a row with the field names and types of Debezium's PostgreSQL
connector (timestamps as epoch microseconds), except that json columns are JSON *objects*:
Debezium's default converter emits them as JSON strings, which inside the envelope's JSON
escape every quote again for nothing. The bridge accepts both forms. The envelope carries
``before``, ``after``, ``op`` (c|u|d|r), ``source`` and ``ts_ms``; the writer puts the row
image in it once (``after``; an update's ``before`` is null, as with Debezium's default
replica identity). ``source.lsn`` holds seq for convenience; consumers read the version
from the row image, never from lsn. A delete is written as a tombstone row, published as
``op: d`` whose ``before`` is that tombstone (it carries the delete's own seq).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from persistence.tables import AppConfigRow, as_utc

CONNECTOR = "rendersync-outbox"
SERVER_NAME = "rendersync"
SCHEMA = "public"
TABLE = "appconfigs"


def epoch_micros(moment: datetime) -> int:
    return int(as_utc(moment).timestamp() * 1_000_000)


def epoch_millis(moment: datetime) -> int:
    return epoch_micros(moment) // 1000


def row_image(row: AppConfigRow) -> dict[str, Any]:
    """The row as a Debezium after/before image."""
    return {
        "namespace": row.namespace,
        "name": row.name,
        "uid": row.uid,
        "seq": row.seq,
        "generation": row.generation,
        "spec": dict(row.spec),
        "labels": dict(row.labels),
        "annotations": dict(row.annotations),
        "deleted": row.deleted,
        "created_at": epoch_micros(row.created_at),
        "updated_at": epoch_micros(row.updated_at),
    }


def envelope(
    *,
    op: str,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    seq: int,
    committed_at: datetime,
    database: str,
) -> dict[str, Any]:
    """A Debezium change-event envelope (the ``payload`` part, without the schema)."""
    millis = epoch_millis(committed_at)
    return {
        "before": before,
        "after": after,
        "op": op,
        "source": {
            "version": "rendersync",
            "connector": CONNECTOR,
            "name": SERVER_NAME,
            "ts_ms": millis,
            "snapshot": "false",
            "db": database,
            "schema": SCHEMA,
            "table": TABLE,
            "lsn": seq,
            "txId": seq,
        },
        "ts_ms": millis,
        "transaction": None,
    }


def event_key(namespace: str, name: str) -> str:
    return f"{namespace}/{name}"
