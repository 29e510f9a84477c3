"""Debezium envelope and row image produced for the outbox."""

from __future__ import annotations

from datetime import UTC, datetime

from persistence.envelopes import envelope, row_image
from persistence.tables import AppConfigRow
from vocabulary.limits import json_text
from worker.changeevents import parse_change


def _row() -> AppConfigRow:
    moment = datetime(2026, 1, 2, 3, 4, 5, 600000, tzinfo=UTC)
    return AppConfigRow(
        namespace="ns",
        name="web",
        uid="u-1",
        seq=7,
        generation=2,
        spec={"app": "web", "environment": "dev"},
        labels={"b": "2", "a": "1"},
        annotations={},
        deleted=False,
        created_at=moment,
        updated_at=moment,
    )


def test_row_image_matches_debezium_postgres_types() -> None:
    image = row_image(_row())
    assert image["seq"] == 7
    assert image["deleted"] is False
    # json columns are JSON objects (not JSON text inside JSON), timestamps epoch micros.
    assert image["spec"] == {"app": "web", "environment": "dev"}
    assert image["labels"] == {"a": "1", "b": "2"}
    assert image["updated_at"] == 1767323045600000


def test_envelope_shape() -> None:
    row = _row()
    change = envelope(
        op="u", before=None, after=row_image(row), seq=7, committed_at=row.updated_at, database="rs"
    )
    assert change["op"] == "u"
    assert change["after"]["seq"] == 7
    assert change["source"]["table"] == "appconfigs"
    assert change["source"]["schema"] == "public"
    assert change["source"]["lsn"] == 7
    assert change["ts_ms"] == change["source"]["ts_ms"] == 1767323045600


def test_the_bridge_parses_the_row_image_it_is_given() -> None:
    row = _row()
    row.annotations = {"note": 'é "quoted"'}
    change = envelope(
        op="c", before=None, after=row_image(row), seq=7, committed_at=row.updated_at, database="rs"
    )
    event = parse_change(b"ns/web", json_text(change).encode())
    assert event is not None
    assert event.image is not None
    assert event.image.spec == {"app": "web", "environment": "dev"}
    assert event.image.annotations == {"note": 'é "quoted"'}
    assert 'é \\"quoted\\"' in json_text(change)  # escaped once, not ASCII-escaped
