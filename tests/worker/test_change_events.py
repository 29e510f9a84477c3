"""Parsing Kafka change events: the relay's envelope and Debezium's, with and without schema."""

from __future__ import annotations

import json
from typing import Any

import pytest

from vocabulary import OP_DELETE, OP_UPSERT
from worker.changeevents import PoisonMessageError, parse_change, parse_message

#: What Debezium sends for a value it did not get (an unchanged TOASTed column).
UNAVAILABLE = "__debezium_unavailable_value"


def image(seq: Any = 5, deleted: Any = False, **extra: Any) -> dict[str, Any]:
    return {
        "namespace": "team-a",
        "name": "web",
        "uid": "u1",
        "seq": seq,
        "generation": 2,
        "spec": '{"app":"web","environment":"dev","replicas":2}',
        "labels": '{"team":"a"}',
        "annotations": "{}",
        "deleted": deleted,
        "created_at": 1767323045600000,
        "updated_at": 1767323045600000,
        **extra,
    }


def envelope(op: str, before: Any = None, after: Any = None) -> dict[str, Any]:
    return {
        "before": before,
        "after": after,
        "op": op,
        "ts_ms": 1767323045700,
        "source": {
            "connector": "postgresql",
            "db": "rs",
            "schema": "public",
            "table": "appconfigs",
            "lsn": 987654321,
            "ts_ms": 1767323045650,
        },
    }


def deep(value: Any, depth: int) -> dict[str, Any]:
    """``value`` nested ``depth`` objects deep."""
    for _ in range(depth):
        value = {"a": value}
    return dict(value)


def encode(value: Any) -> bytes:
    return json.dumps(value).encode()


def test_relay_upsert() -> None:
    event = parse_change(b"team-a/web", encode(envelope("u", after=image(seq=5))))
    assert event is not None
    assert (event.key, event.seq, event.op) == ("team-a/web", 5, OP_UPSERT)
    assert event.image is not None
    assert event.image.spec == {"app": "web", "environment": "dev", "replicas": 2}
    assert event.image.labels == {"team": "a"}
    assert event.committed_at_ms == 1767323045650


def test_version_comes_from_the_row_not_the_lsn() -> None:
    event = parse_change(None, encode(envelope("c", after=image(seq=9))))
    assert event is not None
    assert event.seq == 9


def test_debezium_json_converter_with_schema_wrapper() -> None:
    wrapped = {
        "schema": {"type": "struct", "name": "rendersync.public.appconfigs.Envelope"},
        "payload": envelope("r", after=image(seq=3)),
    }
    key = encode({"schema": {"type": "struct"}, "payload": {"namespace": "team-a", "name": "web"}})
    event = parse_change(key, encode(wrapped))
    assert event is not None
    assert (event.op, event.seq) == (OP_UPSERT, 3)


def test_json_columns_as_objects_are_accepted() -> None:
    after = image(seq=4, spec={"app": "web", "environment": "dev"}, labels={})
    event = parse_change(b"team-a/web", encode(envelope("u", after=after)))
    assert event is not None
    assert event.image is not None
    assert event.image.spec == {"app": "web", "environment": "dev"}


def test_tombstone_update_is_a_delete_and_op_d_with_full_before_too() -> None:
    as_update = parse_change(b"team-a/web", encode(envelope("u", after=image(seq=7, deleted=True))))
    as_delete = parse_change(
        b"team-a/web", encode(envelope("d", before=image(seq=7, deleted=True)))
    )
    assert as_update is not None
    assert as_delete is not None
    assert (as_update.op, as_update.seq) == (OP_DELETE, 7)
    assert (as_delete.op, as_delete.seq) == (OP_DELETE, 7)


def test_nothing_to_do_for_kafka_tombstones_and_key_only_deletes() -> None:
    assert parse_change(b"team-a/web", None) is None
    key_only = envelope("d", before={"namespace": "team-a", "name": "web"})
    assert parse_change(b"team-a/web", encode(key_only)) is None
    assert parse_change(b"team-a/web", encode({"schema": {}, "payload": None})) is None


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (b"team-a/web", b"not json"),
        (b"team-a/web", encode({"hello": "world"})),
        (b"team-a/web", encode(envelope("x", after=image()))),
        (b"team-a/web", encode(envelope("u", after=image(seq="5")))),
        (b"team-a/web", encode(envelope("u", after=image(spec="{broken")))),
        (b"team-a/web", encode(envelope("u", after={"name": "web"}))),
        (b"other/key", encode(envelope("u", after=image()))),
        (b"\xff\xfe", encode(envelope("u", after=image()))),
        # Values that made the parser raise something else than PoisonMessageError.
        (b"team-a/web", encode(envelope("u", after=image(generation="two")))),
        (b"team-a/web", encode(envelope("u", after=image(generation=[2])))),
        (b"team-a/web", encode(envelope("u", after=image(generation={"n": 2})))),
        (
            b"team-a/web",
            encode(envelope("u", after=image())).replace(
                b'"generation": 2', b'"generation": 1e400'
            ),
        ),
        (b"team-a/web", encode(envelope("u", after=image(generation=float("nan"))))),
        (b"team-a/web", b"[" * 100_000 + b"]" * 100_000),
        (b"team-a/web", encode(envelope("u", after=image(spec="[" * 100_000 + "]" * 100_000)))),
        (b"team-a/web", encode(envelope("u", after=image(spec=deep({}, 100))))),
        (b"team-a/web", encode(envelope("u", after=image(labels='{"team": 1}')))),
        (b"team-a/web", encode(envelope("u", after=image(annotations={"a": ["b"]})))),
        (b"team-a/web", encode(envelope("u", after=image(uid={"not": "a string"})))),
        (b"team-a/web", encode(envelope("u", after=image(deleted="false")))),
        (b"team-a/web", encode(envelope("u", after=image(namespace=None)))),
        (b"team-a/web", encode(envelope("u", after=["a", "list"]))),
        (b"team-a/web", encode(envelope(["u"], after=image()))),  # type: ignore[arg-type]
        (b"team-a/web", encode({"schema": {}, "payload": ["not", "an", "event"]})),
    ],
)
def test_poison_messages_are_rejected_with_a_reason(key: bytes, value: bytes) -> None:
    with pytest.raises(PoisonMessageError) as caught:
        parse_change(key, value)
    assert str(caught.value)


@pytest.mark.parametrize("size", [10**12, 2**63, 10**40])
def test_an_absurd_seq_is_parsed_for_the_bridge_to_resolve(size: int) -> None:
    event = parse_change(b"team-a/web", encode(envelope("u", after=image(seq=size))))
    assert event is not None
    assert event.seq == size


def test_an_unavailable_toasted_column_leaves_the_image_to_the_row() -> None:
    after = image(seq=6, spec=UNAVAILABLE, annotations=UNAVAILABLE)
    change = parse_message(b"team-a/web", encode(envelope("u", after=after)))
    assert change is not None
    assert (change.event.key, change.event.seq, change.event.op) == ("team-a/web", 6, OP_UPSERT)
    assert change.event.image is None
    assert change.unavailable == ("spec", "annotations")
    with pytest.raises(PoisonMessageError, match="unavailable"):
        parse_change(b"team-a/web", encode(envelope("u", after=after)))


def test_a_tombstone_with_an_unavailable_column_is_still_a_delete() -> None:
    after = image(seq=7, deleted=True, spec=UNAVAILABLE)
    event = parse_change(b"team-a/web", encode(envelope("u", after=after)))
    assert event is not None
    assert (event.op, event.seq, event.image) == (OP_DELETE, 7, None)
