"""Kafka change events → workflow ``ChangeEvent``s.

Accepts the Debezium envelope as the relay writes it, and as Debezium's PostgreSQL connector
emits it for the ``appconfigs`` table, with or without the JsonConverter ``{schema, payload}``
wrapper: json columns as JSON strings (or objects), ``op`` c/u/r = upsert, ``d`` = delete, an
update whose row has ``deleted`` set = delete (a tombstone write). The version is the row's
``seq``, never ``source.lsn``. A Kafka tombstone (null value) and a delete without a row image
(the purge of a compensated tombstone) carry nothing to do and yield None.
"""

from __future__ import annotations

import json
from typing import Any

from workflows.contracts import OP_DELETE, OP_UPSERT, AppConfigImage, ChangeEvent


class PoisonMessageError(ValueError):
    """The message can never be processed; the reason says why (it goes to the DLQ)."""


def _json_field(image: dict[str, Any], field: str, default: Any) -> Any:
    value = image.get(field, default)
    if value is None:
        return default
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError as err:
            raise PoisonMessageError(f"{field} is not valid JSON: {err}") from None
    if not isinstance(value, dict):
        raise PoisonMessageError(f"{field} must be a JSON object")
    return value


def _image(raw: Any) -> AppConfigImage:
    if not isinstance(raw, dict):
        raise PoisonMessageError("row image must be an object")
    try:
        namespace, name, seq = raw["namespace"], raw["name"], raw["seq"]
    except KeyError as err:
        raise PoisonMessageError(f"row image lacks {err.args[0]}") from None
    if not (isinstance(namespace, str) and isinstance(name, str)):
        raise PoisonMessageError("namespace and name must be strings")
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        raise PoisonMessageError("seq must be a positive integer")
    return AppConfigImage(
        namespace=namespace,
        name=name,
        uid=str(raw.get("uid") or ""),
        seq=seq,
        generation=int(raw.get("generation") or 1),
        spec=_json_field(raw, "spec", {}),
        labels=_json_field(raw, "labels", {}),
        annotations=_json_field(raw, "annotations", {}),
    )


def _payload(value: bytes) -> dict[str, Any] | None:
    try:
        decoded = json.loads(value)
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise PoisonMessageError(f"value is not JSON: {err}") from None
    if isinstance(decoded, dict) and "payload" in decoded and "schema" in decoded:
        decoded = decoded["payload"]
    if decoded is None:
        return None
    if not isinstance(decoded, dict) or "op" not in decoded:
        raise PoisonMessageError("value is not a Debezium change event (no op)")
    return decoded


def _event_from(payload: dict[str, Any]) -> tuple[str, AppConfigImage] | None:
    op = payload["op"]
    if op in ("c", "u", "r"):
        image = _image(payload.get("after"))
        deleted = bool((payload.get("after") or {}).get("deleted"))
        return (OP_DELETE if deleted else OP_UPSERT), image
    if op == "d":
        before = payload.get("before")
        if not isinstance(before, dict) or before.get("seq") is None:
            return None  # the purge of a compensated tombstone: nothing left to undo
        return OP_DELETE, _image(before)
    if op in ("t", "m"):
        return None  # truncate and message events do not describe a row
    raise PoisonMessageError(f"unknown op {op!r}")


def parse_change(key: bytes | None, value: bytes | None) -> ChangeEvent | None:
    """Parse one Kafka record; None when it asks for nothing; PoisonMessageError if bad."""
    if value is None:
        return None
    payload = _payload(value)
    if payload is None:
        return None
    parsed = _event_from(payload)
    if parsed is None:
        return None
    op, image = parsed
    if key is not None and _decode_key(key) not in (image.key, None):
        raise PoisonMessageError(f"message key does not match row {image.key}")
    source = payload.get("source") if isinstance(payload.get("source"), dict) else {}
    committed = (source or {}).get("ts_ms") or payload.get("ts_ms") or 0
    return ChangeEvent(
        key=image.key,
        seq=image.seq,
        op=op,
        image=image,
        committed_at_ms=int(committed) if isinstance(committed, int) else 0,
    )


def _decode_key(key: bytes) -> str | None:
    """The ``namespace/name`` of a key; None for a Debezium struct key (checked elsewhere)."""
    try:
        text = key.decode()
    except UnicodeDecodeError:
        raise PoisonMessageError("message key is not UTF-8") from None
    if text.startswith("{"):
        return None  # Debezium's JSON key struct; the row image is authoritative
    return text
