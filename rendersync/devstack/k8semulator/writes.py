"""The write path shared by create, update, patch and apply: the API conventions in one place.

resourceVersion preconditions, immutable metadata, status only through ``/status``,
``metadata.generation`` bumped by non-metadata/non-status changes only, defaulting, pruning or
strict field validation, schema validation, managedFields, no-op writes that change nothing
(not even the resourceVersion), finalizers that hold a deleted object until they are cleared.
"""

from __future__ import annotations

import copy
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from . import schema, ssa
from .resourcetypes import NAMESPACES, ResourceType
from .statuses import STALE, Cause, bad_request, conflict, invalid
from .store import Store

_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SERVER_META = ("uid", "creationTimestamp", "generation", "deletionTimestamp", "resourceVersion")


@dataclass
class WriteOptions:
    manager: str
    validation: str = "Warn"  # Ignore | Warn | Strict, as ?fieldValidation=
    force: bool = False
    #: ``?dryRun=All``: every check and the answer of the write, nothing stored.
    dry_run: bool = False
    warnings: list[str] = field(default_factory=list)


def now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def check_name(rt: ResourceType, name: str) -> None:
    pattern, limit = (_LABEL, 63) if rt is NAMESPACES else (_SUBDOMAIN, 253)
    if not name:
        raise invalid(
            rt.kind,
            rt.group,
            name,
            [
                Cause(
                    "FieldValueRequired",
                    "metadata.name",
                    "Required value: name or generateName is required",
                )
            ],
        )
    if len(name) > limit or not pattern.match(name):
        kind = "label" if limit == 63 else "subdomain"
        detail = (
            f'Invalid value: "{name}": a lowercase RFC 1123 {kind} '
            "must consist of lower case alphanumeric characters, '-' or '.', and must start "
            "and end with an alphanumeric character"
        )
        raise invalid(
            rt.kind, rt.group, name, [Cause("FieldValueInvalid", "metadata.name", detail)]
        )


def prepare_new(rt: ResourceType, body: dict[str, Any], namespace: str) -> dict[str, Any]:
    """Server-set metadata for a create; status is dropped when it has its own endpoint."""
    obj = copy.deepcopy(body)
    meta = obj.setdefault("metadata", {})
    for key in (*_SERVER_META, "managedFields", "deletionGracePeriodSeconds"):
        meta.pop(key, None)
    if not meta.get("name") and meta.get("generateName"):
        meta["name"] = meta["generateName"] + uuid.uuid4().hex[:5]
    if rt.namespaced:
        meta["namespace"] = namespace
    else:
        meta.pop("namespace", None)
    meta.update(uid=str(uuid.uuid4()), creationTimestamp=now_text(), generation=1)
    if rt.status_subresource:
        obj.pop("status", None)
    obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
    return obj


def merge_update(
    rt: ResourceType, live: dict[str, Any], new: dict[str, Any], *, status: bool
) -> dict[str, Any]:
    """What an update may change: status only via ``/status``, never server-owned metadata."""
    if status:
        merged = copy.deepcopy(live)
        merged["metadata"]["resourceVersion"] = (new.get("metadata") or {}).get("resourceVersion")
        if "status" in new:
            merged["status"] = copy.deepcopy(new["status"])
        else:
            merged.pop("status", None)
        return merged
    merged = copy.deepcopy(new)
    meta = merged.setdefault("metadata", {})
    for key in ("uid", "creationTimestamp", "generation", "deletionTimestamp", "name", "namespace"):
        if key in live["metadata"]:
            meta[key] = live["metadata"][key]
        else:
            meta.pop(key, None)
    if rt.status_subresource:
        if "status" in live:
            merged["status"] = copy.deepcopy(live["status"])
        else:
            merged.pop("status", None)
    merged["apiVersion"], merged["kind"] = rt.api_version, rt.kind
    return merged


def check_precondition(rt: ResourceType, live: dict[str, Any], new: dict[str, Any]) -> None:
    wanted = (new.get("metadata") or {}).get("resourceVersion")
    if wanted and wanted != live["metadata"]["resourceVersion"]:
        raise conflict(rt.plural, rt.group, live["metadata"]["name"], STALE)


def validate_object(rt: ResourceType, obj: dict[str, Any], opts: WriteOptions) -> None:
    """Default, prune (or refuse unknown fields under Strict), then validate against the schema."""
    if rt.schema is None:
        return
    schema.apply_defaults(rt.schema, obj)
    dropped = schema.prune(rt.schema, obj)
    if dropped and opts.validation == "Strict":
        raise bad_request(
            "strict decoding error: " + ", ".join(f'unknown field "{p}"' for p in dropped)
        )
    if opts.validation != "Ignore":
        opts.warnings += [f'unknown field "{p}"' for p in dropped]
    causes = schema.validate(rt.schema, obj)
    if causes:
        raise invalid(rt.kind, rt.group, obj["metadata"].get("name", ""), causes)


def _body(obj: dict[str, Any]) -> dict[str, Any]:
    """The object minus fields that change on every write, to detect no-ops."""
    out = copy.deepcopy(obj)
    meta = out.get("metadata") or {}
    meta.pop("resourceVersion", None)
    for entry in meta.get("managedFields") or []:
        entry.pop("time", None)
    return out


def _spec_part(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion", "kind")}


def commit_update(
    store: Store,
    rt: ResourceType,
    live: dict[str, Any],
    new: dict[str, Any],
    owners: ssa.Owners,
    opts: WriteOptions,
) -> dict[str, Any]:
    """Validate and store ``new`` as the successor of ``live`` (or do nothing for a no-op)."""
    validate_object(rt, new, opts)
    old_finalizers = set(live["metadata"].get("finalizers") or [])
    if (
        live["metadata"].get("deletionTimestamp")
        and set(new["metadata"].get("finalizers") or []) - old_finalizers
    ):
        cause = Cause(
            "FieldValueForbidden",
            "metadata.finalizers",
            "Forbidden: no new finalizers can be added if the object is being deleted",
        )
        raise invalid(rt.kind, rt.group, live["metadata"]["name"], [cause])
    ssa.write_owners(new, owners, previous=live, now=now_text(), api_version=rt.api_version)
    new["metadata"]["resourceVersion"] = live["metadata"]["resourceVersion"]
    if _body(new) == _body(live):
        return live
    if _spec_part(new) != _spec_part(live):
        new["metadata"]["generation"] = int(live["metadata"].get("generation", 1)) + 1
    meta = new["metadata"]
    if opts.dry_run:
        return new
    if meta.get("deletionTimestamp") and not meta.get("finalizers"):
        gone = store.remove(rt.key, meta.get("namespace", ""), meta["name"])
        return gone or new
    return store.put(rt.key, new)


def commit_create(
    store: Store, rt: ResourceType, obj: dict[str, Any], owners: ssa.Owners, opts: WriteOptions
) -> dict[str, Any]:
    validate_object(rt, obj, opts)
    ssa.write_owners(obj, owners, previous={}, now=now_text(), api_version=rt.api_version)
    if opts.dry_run:
        # As the real server: a dry-run create has a uid and no resourceVersion.
        return copy.deepcopy(obj)
    return store.put(rt.key, obj)
