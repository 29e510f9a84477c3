"""Kafka change events → workflow ``ChangeEvent``s.

Accepts the Debezium envelope as the relay writes it, and as Debezium's PostgreSQL connector
emits it for the ``appconfigs`` table, with or without the JsonConverter ``{schema, payload}``
wrapper: json columns as JSON strings (or objects), ``op`` c/u/r = upsert, ``d`` = delete, an
update whose row has ``deleted`` set = delete (a tombstone write). The version is the row's
``seq``, never ``source.lsn``. A Kafka tombstone (null value) and a delete without a row image
(the purge of a compensated tombstone) carry nothing to do and yield None. ``row_event``
builds the event of a row read from the database, with the values a snapshot read (``op:
r``) of it would parse to.

Every malformed message raises ``PoisonMessageError`` with the reason, whatever is wrong with
it (types, nesting, JSON). A json column that Debezium sent as its unavailable-value
placeholder (an unchanged TOASTed value under REPLICA IDENTITY DEFAULT) is no error: the
change is parsed without an image and names the columns in ``Change.unavailable``, so the
bridge can read the row instead.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, replace
from typing import Any

from persistence.tables import AppConfigRow
from vocabulary import OP_DELETE, OP_UPSERT
from workflows.contracts import AppConfigImage, ChangeEvent

#: What Debezium sends for a column value it does not have (``unavailable.value.placeholder``).
UNAVAILABLE = "__debezium_unavailable_value"
#: Deeper json columns are refused: no valid spec comes near it, and deeper values would
#: exhaust the stack of whatever serializes the event next.
MAX_DEPTH = 32
_JSON_COLUMNS = ("spec", "labels", "annotations")


class PoisonMessageError(ValueError):
    """The message can never be processed; the reason says why (it goes to the DLQ)."""


@dataclass(frozen=True)
class Change:
    """A parsed change event. ``unavailable`` names the json columns the message lacked; then
    ``event.image`` is None and only the row can say what the key holds. ``uid`` is the
    incarnation the message names ("" when it names none), also when the image is incomplete."""

    event: ChangeEvent
    unavailable: tuple[str, ...] = ()
    uid: str = ""


def _too_deep(value: Any) -> bool:
    """Whether ``value`` nests more than MAX_DEPTH objects or arrays (walked level by level,
    so the check itself cannot exhaust the stack)."""
    level = [value]
    for _ in range(MAX_DEPTH):
        level = [v for item in level for v in _containers_in(item)]
        if not level:
            return False
    return True


def _containers_in(item: Any) -> list[Any]:
    values = item.values() if isinstance(item, dict) else item
    return [v for v in values if isinstance(v, dict | list)]


def _json_field(image: dict[str, Any], field: str) -> dict[str, Any]:
    value = image.get(field)
    if value is None:
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except (ValueError, RecursionError) as err:
            raise PoisonMessageError(f"{field} is not valid JSON: {err}") from None
    if not isinstance(value, dict):
        raise PoisonMessageError(f"{field} must be a JSON object")
    if _too_deep(value):
        raise PoisonMessageError(f"{field} is nested deeper than {MAX_DEPTH} levels")
    return value


def _string_map(image: dict[str, Any], field: str) -> dict[str, str]:
    value = _json_field(image, field)
    if not all(isinstance(v, str) for v in value.values()):
        raise PoisonMessageError(f"{field} must map strings to strings")
    return value


def _positive_int(raw: dict[str, Any], field: str) -> int:
    value = raw.get(field)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise PoisonMessageError(f"{field} must be a positive integer")
    return value


def _change(op: str, raw: Any, committed_at_ms: int) -> Change:
    """The change ``op`` of the row image ``raw``."""
    if not isinstance(raw, dict):
        raise PoisonMessageError("row image must be an object")
    missing = [f for f in ("namespace", "name", "seq") if f not in raw]
    if missing:
        raise PoisonMessageError(f"row image lacks {missing[0]}")
    namespace, name, seq = raw["namespace"], raw["name"], _positive_int(raw, "seq")
    if not (isinstance(namespace, str) and isinstance(name, str)):
        raise PoisonMessageError("namespace and name must be strings")
    uid = raw.get("uid") or ""
    if not isinstance(uid, str):
        raise PoisonMessageError("uid must be a string")
    generation = 1 if raw.get("generation") in (None, 0) else _positive_int(raw, "generation")
    unavailable = tuple(f for f in _JSON_COLUMNS if raw.get(f) == UNAVAILABLE)
    image = None
    if not unavailable:
        image = AppConfigImage(
            namespace=namespace,
            name=name,
            uid=uid,
            seq=seq,
            generation=generation,
            spec=_json_field(raw, "spec"),
            labels=_string_map(raw, "labels"),
            annotations=_string_map(raw, "annotations"),
        )
    key = f"{namespace}/{name}"
    event = ChangeEvent(key=key, seq=seq, op=op, image=image, committed_at_ms=committed_at_ms)
    return Change(event, unavailable, uid)


def _payload(value: bytes) -> dict[str, Any] | None:
    try:
        decoded = json.loads(value)
    except (ValueError, RecursionError) as err:  # JSONDecodeError, UnicodeDecodeError, depth
        raise PoisonMessageError(f"value is not JSON: {type(err).__name__}: {err}") from None
    if isinstance(decoded, dict) and "payload" in decoded and "schema" in decoded:
        decoded = decoded["payload"]
    if decoded is None:
        return None
    if not isinstance(decoded, dict) or "op" not in decoded:
        raise PoisonMessageError("value is not a Debezium change event (no op)")
    return decoded


def _deleted(after: dict[str, Any]) -> bool:
    deleted = after.get("deleted")
    if deleted is not None and not isinstance(deleted, bool):
        raise PoisonMessageError("deleted must be a boolean")
    return bool(deleted)


def _row_of(payload: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """(op, row image) the event describes, or None when it describes no row."""
    op = payload["op"]
    if not isinstance(op, str):
        raise PoisonMessageError("op must be a string")
    if op in ("c", "u", "r"):
        after = payload.get("after")
        if not isinstance(after, dict):
            raise PoisonMessageError("row image must be an object")
        return (OP_DELETE if _deleted(after) else OP_UPSERT), after
    if op == "d":
        before = payload.get("before")
        if not isinstance(before, dict) or before.get("seq") is None:
            return None  # the purge of a compensated tombstone: nothing left to undo
        return OP_DELETE, before
    if op in ("t", "m"):
        return None  # truncate and message events do not describe a row
    raise PoisonMessageError(f"unknown op {op!r}")


def parse_message(key: bytes | None, value: bytes | None) -> Change | None:
    """Parse one Kafka record; None when it asks for nothing; PoisonMessageError if bad."""
    if value is None:
        return None
    payload = _payload(value)
    if payload is None:
        return None
    described = _row_of(payload)
    if described is None:
        return None
    op, row = described
    source = payload.get("source")
    committed = (source if isinstance(source, dict) else {}).get("ts_ms") or payload.get("ts_ms")
    committed_at_ms = committed if isinstance(committed, int) and committed > 0 else 0
    change = _change(op, row, committed_at_ms)
    if key is not None and _decode_key(key) not in (change.event.key, None):
        raise PoisonMessageError(f"message key does not match row {change.event.key}")
    return change


def parse_change(key: bytes | None, value: bytes | None) -> ChangeEvent | None:
    """``parse_message`` for callers without a database: an upsert whose image Debezium left
    incomplete is a PoisonMessageError here (nothing could apply it)."""
    change = parse_message(key, value)
    if change is None:
        return None
    if change.unavailable and change.event.op == OP_UPSERT:
        raise PoisonMessageError(f"{', '.join(change.unavailable)} unavailable in the image")
    return change.event


def _decode_key(key: bytes) -> str | None:
    """The ``namespace/name`` of a key; None for a Debezium struct key (checked elsewhere)."""
    try:
        text = key.decode()
    except UnicodeDecodeError:
        raise PoisonMessageError("message key is not UTF-8") from None
    if text.startswith("{"):
        return None  # Debezium's JSON key struct; the row image is authoritative
    return text


def row_event(row: AppConfigRow, *, force: bool = False, committed_at_ms: int = 0) -> ChangeEvent:
    """The change event of ``row`` as it stands: an upsert of its image, a tombstone a delete
    carrying the tombstone's image. The same event the bridge parses from a Debezium snapshot
    read of the row."""
    image = AppConfigImage(
        namespace=row.namespace,
        name=row.name,
        uid=row.uid or "",
        seq=row.seq,
        generation=row.generation or 1,
        spec=copy.deepcopy(row.spec),
        labels=dict(row.labels),
        annotations=dict(row.annotations),
    )
    return ChangeEvent(
        key=f"{row.namespace}/{row.name}",
        seq=row.seq,
        op=OP_DELETE if row.deleted else OP_UPSERT,
        image=image,
        committed_at_ms=committed_at_ms,
        force=force,
    )


def forced_event(row: AppConfigRow) -> ChangeEvent:
    """The forced change event of ``row`` (a re-drive: see ``ChangeEvent.force``). No commit
    time: a re-drive must not feed the sync latency metric."""
    return row_event(row, force=True)


def catch_up_event(row: AppConfigRow) -> ChangeEvent:
    """The forced event of ``row`` that a key with ``row.seq`` in hand drops (see
    ``ChangeEvent.catch_up``): periodic anti-entropy's."""
    return replace(forced_event(row), catch_up=True)
