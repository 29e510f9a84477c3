"""Server-side printing: ``meta.k8s.io/v1`` Tables for ``kubectl get``, from printer columns.

JSONPath support is the subset printer columns use: ``.a.b``, escaped dots
(``.metadata.annotations.rendersync\\.dev/version``), ``['key']``, ``[0]`` and equality
filters ``[?(@.type=="Synced")]``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from .resourcetypes import CRDS, EVENTS, NAMESPACES, ResourceType

_STEP = re.compile(
    r"\.((?:\\\.|[^.\[\\])+)|\['([^']*)'\]|\[(\d+)\]|\[\?\(@\.([\w.]+)\s*==\s*[\"']([^\"']*)[\"']\)\]"
)
_NAME_COLUMN = {
    "name": "Name",
    "type": "string",
    "format": "name",
    "description": "Name must be unique within a namespace.",
    "priority": 0,
}
_AGE = {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}
_BUILTIN_COLUMNS: dict[str, tuple[dict[str, Any], ...]] = {
    NAMESPACES.key: ({"name": "Status", "type": "string", "jsonPath": ".status.phase"}, _AGE),
    CRDS.key: (
        {"name": "Created At", "type": "string", "jsonPath": ".metadata.creationTimestamp"},
    ),
    EVENTS.key: (_AGE,),
}


def wants_table(accept: str) -> bool:
    return "as=Table" in accept


def jsonpath(obj: Any, path: str) -> list[Any]:
    """All values ``path`` selects in ``obj``."""
    current = [obj]
    for m in _STEP.finditer(path):
        name, quoted, index, fkey, fval = m.groups()
        nxt: list[Any] = []
        for node in current:
            if name is not None or quoted is not None:
                key = quoted if quoted is not None else name.replace("\\.", ".")
                if isinstance(node, dict) and key in node:
                    nxt.append(node[key])
            elif index is not None:
                if isinstance(node, list) and int(index) < len(node):
                    nxt.append(node[int(index)])
            elif isinstance(node, list):
                nxt += [i for i in node if isinstance(i, dict) and str(i.get(fkey)) == fval]
        current = nxt
    return current


def human_age(stamp: str, now: datetime | None = None) -> str:
    """The ``Age`` text kubectl shows (apimachinery's HumanDuration, abridged)."""
    try:
        then = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    except (TypeError, ValueError):
        return "<unknown>"
    secs = max(0, int(((now or datetime.now(UTC)) - then).total_seconds()))
    mins, hours, days = secs // 60, secs // 3600, secs // 86400
    if secs < 120:
        return f"{secs}s"
    if mins < 10:
        return f"{mins}m{secs % 60}s" if secs % 60 else f"{mins}m"
    if hours < 3:
        return f"{mins}m"
    if hours < 8:
        return f"{hours}h{mins % 60}m" if mins % 60 else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if days < 8:
        return f"{days}d{hours % 24}h" if hours % 24 else f"{days}d"
    return f"{days}d" if days < 730 else f"{days // 365}y"


def _columns(rt: ResourceType) -> tuple[dict[str, Any], ...]:
    if rt.custom:
        return rt.printer_columns or (_AGE,)
    return _BUILTIN_COLUMNS.get(rt.key, (_AGE,))


def _cell(column: dict[str, Any], obj: dict[str, Any]) -> Any:
    found = jsonpath(obj, column["jsonPath"])
    if not found:
        return None
    value = found[0]
    if column.get("type") == "date" and isinstance(value, str):
        return human_age(value)
    return value


def _row_object(obj: dict[str, Any], include: str) -> dict[str, Any] | None:
    if include == "None":
        return None
    if include == "Object":
        return obj
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj["metadata"],
    }


def to_table(
    rt: ResourceType,
    objs: list[dict[str, Any]],
    *,
    list_meta: dict[str, Any],
    headers: bool = True,
    include_object: str = "Metadata",
) -> dict[str, Any]:
    columns = _columns(rt)
    definitions = [_NAME_COLUMN] + [
        {
            "name": c["name"],
            "type": "string" if c.get("type") == "date" else c.get("type", "string"),
            "format": c.get("format", ""),
            "description": c.get("description", ""),
            "priority": c.get("priority", 0),
        }
        for c in columns
    ]
    rows = []
    for obj in objs:
        row: dict[str, Any] = {
            "cells": [obj["metadata"]["name"]] + [_cell(c, obj) for c in columns]
        }
        if (embedded := _row_object(obj, include_object)) is not None:
            row["object"] = embedded
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": list_meta,
        "columnDefinitions": definitions if headers else [],
        "rows": rows,
    }
