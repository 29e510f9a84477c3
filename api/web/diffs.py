"""Differences between what a target holds and what a write would make it hold: a unified
diff of the YAML (the one renderer, ``k8s.manifests.render_yaml``) and a list of changed
fields. Pure functions."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from k8s.manifests import render_yaml

#: Set by the API server on every write, never by the applier: not part of a difference.
_SERVER_METADATA = (
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
)
_PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+$")


@dataclass(frozen=True)
class FieldChange:
    """One leaf that differs: ``path`` as in ``spec.replicas`` or
    ``metadata.annotations["rendersync.dev/version"]``; maps are compared key by key, lists
    and scalars whole."""

    path: str
    op: Literal["add", "remove", "replace"]
    before: Any = None
    after: Any = None


def comparable(obj: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """``obj`` without server-set metadata and status: what an apply decides."""
    if obj is None:
        return None
    out = {k: v for k, v in obj.items() if k != "status"}
    meta = obj.get("metadata")
    if isinstance(meta, Mapping):
        out["metadata"] = {k: v for k, v in meta.items() if k not in _SERVER_METADATA}
    return out


def as_yaml(obj: Mapping[str, Any] | None) -> str | None:
    return None if obj is None else render_yaml(obj)


def unified(before: str | None, after: str, *, before_name: str, after_name: str) -> str:
    """A unified diff of two YAML texts ("" when equal; all added when ``before`` is None)."""
    old = before.splitlines(keepends=True) if before is not None else []
    new = after.splitlines(keepends=True)
    return "".join(difflib.unified_diff(old, new, fromfile=before_name, tofile=after_name))


def field_changes(before: Any, after: Any, path: str = "") -> list[FieldChange]:
    """Every leaf that differs between ``before`` and ``after``, in key order."""
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        changes: list[FieldChange] = []
        for key in sorted(set(before) | set(after), key=str):
            where = _join(path, str(key))
            if key not in after:
                changes.append(FieldChange(where, "remove", before=before[key]))
            elif key not in before:
                changes.append(FieldChange(where, "add", after=after[key]))
            else:
                changes += field_changes(before[key], after[key], where)
        return changes
    if before == after:
        return []
    return [FieldChange(path or ".", "replace", before=before, after=after)]


def _join(path: str, key: str) -> str:
    if _PLAIN_KEY.fullmatch(key):
        return f"{path}.{key}" if path else key
    return f'{path}["{key}"]'
