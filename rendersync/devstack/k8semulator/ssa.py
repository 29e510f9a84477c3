"""Field ownership (``metadata.managedFields``) and server-side apply.

Fields are leaf paths. Maps are granular (each key is a field); every list is atomic except
``metadata.finalizers``, a set whose items are owned one by one — which is what a CRD schema
without ``x-kubernetes-list-type`` declares. Owners are keyed by (manager, operation,
subresource) as on a real server, so one manager's Update entry and Apply entry are distinct.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from .statuses import EmulatedApiError

Path = tuple[str, ...]
Owner = tuple[str, str, str]  # (manager, "Apply" | "Update", subresource)
Owners = dict[Owner, set[Path]]

_META_MAPS = ("labels", "annotations")
_SET_LISTS = ("finalizers",)


def leaves(obj: dict[str, Any], *, status: bool) -> dict[Path, Any]:
    """Owned leaf paths of the main resource (``status=False``) or of its status."""
    out: dict[Path, Any] = {}
    if status:
        if isinstance(obj.get("status"), dict):
            _walk(obj["status"], ("f:status",), out)
        return out
    for key, value in obj.items():
        if key in ("apiVersion", "kind", "status"):
            continue
        if key == "metadata" and isinstance(value, dict):
            _metadata_leaves(value, out)
        elif isinstance(value, dict):
            _walk(value, (f"f:{key}",), out)
        else:
            out[(f"f:{key}",)] = value
    return out


def _metadata_leaves(meta: dict[str, Any], out: dict[Path, Any]) -> None:
    for key in _META_MAPS:
        if isinstance(meta.get(key), dict):
            _walk(meta[key], ("f:metadata", f"f:{key}"), out)
    for key in _SET_LISTS:
        for item in meta.get(key) or []:
            out[("f:metadata", f"f:{key}", "v:" + json.dumps(item))] = item
    if "ownerReferences" in meta:
        out[("f:metadata", "f:ownerReferences")] = meta["ownerReferences"]


def _walk(node: dict[str, Any], prefix: Path, out: dict[Path, Any]) -> None:
    if not node:
        out[prefix] = {}
    for key, value in node.items():
        if isinstance(value, dict):
            _walk(value, (*prefix, f"f:{key}"), out)
        else:
            out[(*prefix, f"f:{key}")] = value


def read_owners(obj: dict[str, Any]) -> Owners:
    owners: Owners = {}
    for entry in (obj.get("metadata") or {}).get("managedFields") or []:
        key = (entry.get("manager", ""), entry.get("operation", ""), entry.get("subresource", ""))
        paths: set[Path] = set()
        _decode(entry.get("fieldsV1") or {}, (), paths)
        owners[key] = paths
    return owners


def _decode(node: dict[str, Any], prefix: Path, out: set[Path]) -> None:
    children = [k for k in node if k != "."]
    if prefix and (not children or "." in node):
        out.add(prefix)
    for key in children:
        _decode(node[key], (*prefix, key), out)


def _encode(paths: set[Path]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for path in sorted(paths):
        node = root
        for seg in path:
            node = node.setdefault(seg, {})
    for path in paths:  # a leaf that also has children is marked with "."
        node = root
        for seg in path:
            node = node[seg]
        if node and "." not in node:
            node["."] = {}
    return root


def write_owners(
    obj: dict[str, Any], owners: Owners, *, previous: dict[str, Any], now: str, api_version: str
) -> None:
    """Render ``owners`` into ``obj``; entries whose fields did not change keep their time."""
    before = read_owners(previous) if previous else {}
    old_times = {
        (e.get("manager", ""), e.get("operation", ""), e.get("subresource", "")): e.get("time")
        for e in (previous.get("metadata") or {}).get("managedFields") or []
    }
    entries = []
    for key in sorted(k for k, paths in owners.items() if paths):
        entry: dict[str, Any] = {
            "manager": key[0],
            "operation": key[1],
            "apiVersion": api_version,
            "time": old_times.get(key) if before.get(key) == owners[key] else now,
            "fieldsType": "FieldsV1",
            "fieldsV1": _encode(owners[key]),
        }
        if key[2]:
            entry["subresource"] = key[2]
        entries.append(entry)
    obj.setdefault("metadata", {})["managedFields"] = entries


def record_update(
    old: dict[str, Any], new: dict[str, Any], owners: Owners, *, manager: str, status: bool
) -> Owners:
    """A non-apply write: ``manager`` takes every field it changed, from everyone."""
    old_l, new_l = leaves(old, status=status), leaves(new, status=status)
    changed = {p for p, v in new_l.items() if p not in old_l or old_l[p] != v}
    touched = changed | (old_l.keys() - new_l.keys())
    out = {k: v - touched for k, v in owners.items()}
    key = (manager, "Update", "status" if status else "")
    out[key] = out.get(key, set()) | changed
    return out


def apply(
    live: dict[str, Any],
    config: dict[str, Any],
    owners: Owners,
    *,
    manager: str,
    force: bool,
    status: bool,
    api_version: str,
) -> tuple[dict[str, Any], Owners]:
    """Merge an applied configuration into ``live``; raises a 409 on unforced conflicts."""
    me = (manager, "Apply", "status" if status else "")
    applied = leaves(config, status=status)
    current = leaves(live, status=status)
    conflicts = [
        (other[0], p)
        for other, paths in owners.items()
        if other != me
        for p in sorted(paths & applied.keys())
        if p in current and current[p] != applied[p]
    ]
    if conflicts and not force:
        raise _conflict_error(conflicts, api_version)
    out = {k: set(v) for k, v in owners.items()}
    for other, path in conflicts:
        for key in out:
            if key[0] == other and key != me:
                out[key].discard(path)
    others = set().union(*(v for k, v in out.items() if k != me))
    merged = copy.deepcopy(live)
    for path in owners.get(me, set()) - applied.keys() - others:
        _delete(merged, path)
    for path, value in applied.items():
        _set(merged, path, value)
    out[me] = set(applied)
    return merged, out


def _conflict_error(conflicts: list[tuple[str, Path]], api_version: str) -> EmulatedApiError:
    causes = [
        {
            "reason": "FieldManagerConflict",
            "message": f'conflict with "{mgr}" using {api_version}',
            "field": path_text(p),
        }
        for mgr, p in conflicts
    ]
    lines = "; ".join(f"{c['message']}: {c['field']}" for c in causes)
    noun = "conflict" if len(causes) == 1 else "conflicts"
    return EmulatedApiError(
        409, "Conflict", f"Apply failed with {len(causes)} {noun}: {lines}", {"causes": causes}
    )


def path_text(path: Path) -> str:
    return "".join(f"[={seg[2:]}]" if seg.startswith("v:") else "." + seg[2:] for seg in path)


def _set(obj: dict[str, Any], path: Path, value: Any) -> None:
    node = obj
    for seg in path[:-1]:
        if seg.startswith("f:") and path[-1].startswith("v:") and seg == path[-2]:
            break
        nxt = node.get(seg[2:])
        if not isinstance(nxt, dict):
            nxt = node[seg[2:]] = {}
        node = nxt
    last = path[-1]
    if last.startswith("v:"):
        items = node.setdefault(path[-2][2:], [])
        if value not in items:
            items.append(value)
    elif value == {} and isinstance(node.get(last[2:]), dict):
        return
    else:
        node[last[2:]] = copy.deepcopy(value)


def _delete(obj: dict[str, Any], path: Path) -> None:
    node: Any = obj
    for seg in path[:-1]:
        if not isinstance(node, dict) or seg[2:] not in node:
            return
        node = node[seg[2:]]
    last = path[-1]
    if last.startswith("v:") and isinstance(node, list):
        item = json.loads(last[2:])
        if item in node:
            node.remove(item)
    elif isinstance(node, dict):
        node.pop(last[2:], None)
