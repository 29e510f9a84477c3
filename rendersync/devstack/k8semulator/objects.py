"""Resource operations (get, list, create, update, patch, apply, delete) over the store."""

from __future__ import annotations

import copy
import logging
from typing import Any

from . import ssa
from .crds import check_crd, crd_status
from .objectbodies import check_body, decode_continue, encode_continue, parse, sort_key
from .patches import json_patch, merge_patch
from .resourcetypes import CRDS, NAMESPACES, Registry, ResourceType
from .selectors import field_matcher, label_matcher
from .statuses import (
    STALE,
    EmulatedApiError,
    already_exists,
    bad_request,
    conflict,
    not_found,
    success_body,
)
from .store import Store
from .writes import (
    WriteOptions,
    check_name,
    check_precondition,
    commit_create,
    commit_update,
    merge_update,
    now_text,
    prepare_new,
)

log = logging.getLogger(__name__)

MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
APPLY = "application/apply-patch+yaml"


class ObjectService:
    def __init__(self, store: Store, registry: Registry) -> None:
        self.store = store
        self.registry = registry

    def get(self, rt: ResourceType, namespace: str, name: str) -> dict[str, Any]:
        obj = self.store.get(rt.key, namespace, name)
        if obj is None:
            raise not_found(rt.plural, rt.group, name)
        return _as_version(rt, obj)

    def list(
        self,
        rt: ResourceType,
        namespace: str | None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
        limit: int = 0,
        cont: str | None = None,
    ) -> dict[str, Any]:
        """A List; ``continue`` pages over current state (not a snapshot, see the docs)."""
        labels, fields = label_matcher(label_selector), field_matcher(field_selector)
        items = [o for o in self.store.list_objects(rt.key, namespace) if labels(o) and fields(o)]
        if cont:
            after = decode_continue(cont)
            items = [o for o in items if sort_key(o) > after]
        meta: dict[str, Any] = {"resourceVersion": str(self.store.rv)}
        if limit and len(items) > limit:
            meta["continue"] = encode_continue(sort_key(items[limit - 1]))
            meta["remainingItemCount"] = len(items) - limit
            items = items[:limit]
        return {
            "apiVersion": rt.api_version,
            "kind": rt.list_kind,
            "metadata": meta,
            "items": [_as_version(rt, o) for o in items],
        }

    def create(
        self, rt: ResourceType, namespace: str, body: Any, opts: WriteOptions
    ) -> dict[str, Any]:
        check_body(rt, body, namespace)
        obj = prepare_new(rt, body, namespace)
        name = obj["metadata"].get("name", "")
        check_name(rt, name)
        if rt.namespaced:
            check_name(NAMESPACES, namespace)
        if self.store.get(rt.key, namespace if rt.namespaced else "", name) is not None:
            raise already_exists(rt.plural, rt.group, name)
        self._before_store(rt, obj)
        owners = ssa.record_update({}, obj, {}, manager=opts.manager, status=False)
        created = commit_create(self.store, rt, obj, owners, opts)
        self._after_store(rt, created, opts)
        return _as_version(rt, created)

    def replace(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        body: Any,
        opts: WriteOptions,
        *,
        status: bool,
    ) -> dict[str, Any]:
        check_body(rt, body, namespace, name)
        live = self.get(rt, namespace, name)
        if rt.custom and not (body.get("metadata") or {}).get("resourceVersion"):
            raise EmulatedApiError(
                422,
                "Invalid",
                f'{rt.kind}.{rt.group} "{name}" is invalid: metadata.resourceVersion: '
                "Invalid value: 0x0: must be specified for an update",
            )
        return self._update(rt, live, body, opts, status=status)

    def patch(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        raw: bytes,
        content_type: str,
        opts: WriteOptions,
        *,
        status: bool,
    ) -> dict[str, Any]:
        live = self.store.get(rt.key, namespace if rt.namespaced else "", name)
        if content_type == APPLY:
            return self._apply(rt, namespace, name, live, parse(raw, yaml_ok=True), opts, status)
        if live is None:
            raise not_found(rt.plural, rt.group, name)
        patch = parse(raw, yaml_ok=False)
        if content_type == JSON_PATCH:
            new = json_patch(live, patch)
        elif content_type == MERGE or (content_type == STRATEGIC and not rt.custom):
            # Built-in types we serve have no list merge keys kubectl relies on, so a
            # strategic merge patch is applied as a JSON merge patch.
            new = merge_patch(live, patch)
        else:
            raise EmulatedApiError(
                415,
                "UnsupportedMediaType",
                f"the body of the request was in an unknown format - accepted media types "
                f"include: {JSON_PATCH}, {MERGE}, {APPLY}",
            )
        if not isinstance(new, dict):
            raise bad_request("patch must produce an object")
        return self._update(rt, _as_version(rt, live), new, opts, status=status)

    def _update(
        self,
        rt: ResourceType,
        live: dict[str, Any],
        body: dict[str, Any],
        opts: WriteOptions,
        *,
        status: bool,
    ) -> dict[str, Any]:
        check_precondition(rt, live, body)
        new = merge_update(rt, live, body, status=status)
        owners = ssa.record_update(
            live, new, ssa.read_owners(live), manager=opts.manager, status=status
        )
        self._before_store(rt, new)
        stored = commit_update(self.store, rt, live, new, owners, opts)
        self._after_store(rt, stored, opts)
        return _as_version(rt, stored)

    def _apply(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        live: dict[str, Any] | None,
        config: Any,
        opts: WriteOptions,
        status: bool,
    ) -> dict[str, Any]:
        check_body(rt, config, namespace, name, apply=True)
        if not opts.manager:
            raise bad_request("PATCH, application/apply-patch+yaml requests require fieldManager")
        if live is None:
            if status:
                raise not_found(rt.plural, rt.group, name)
            return self._apply_create(rt, namespace, name, config, opts)
        check_precondition(rt, live, config)
        merged, owners = ssa.apply(
            live,
            config,
            ssa.read_owners(live),
            manager=opts.manager,
            force=opts.force,
            status=status,
            api_version=rt.api_version,
        )
        new = merge_update(rt, live, merged, status=status)
        self._before_store(rt, new)
        stored = commit_update(self.store, rt, live, new, owners, opts)
        self._after_store(rt, stored, opts)
        return _as_version(rt, stored)

    def _apply_create(
        self, rt: ResourceType, namespace: str, name: str, config: Any, opts: WriteOptions
    ) -> dict[str, Any]:
        """Apply to a missing object creates it (a resourceVersion precondition cannot hold)."""
        if (config.get("metadata") or {}).get("resourceVersion"):
            raise conflict(rt.plural, rt.group, name, STALE)
        check_name(rt, name)
        obj = prepare_new(rt, {"metadata": {"name": name}}, namespace)
        merged, owners = ssa.apply(
            obj,
            config,
            {},
            manager=opts.manager,
            force=True,
            status=False,
            api_version=rt.api_version,
        )
        self._before_store(rt, merged)
        created = commit_create(self.store, rt, merged, owners, opts)
        self._after_store(rt, created, opts)
        return _as_version(rt, created)

    def delete(
        self,
        rt: ResourceType,
        namespace: str,
        name: str,
        options: dict[str, Any],
        *,
        dry_run: bool = False,
    ) -> dict[str, Any]:
        """Delete now, or mark ``deletionTimestamp`` while finalizers remain; ``dry_run``
        checks the preconditions and answers as the delete would, changing nothing."""
        live = self.get(rt, namespace, name)
        pre = options.get("preconditions") or {}
        meta = live["metadata"]
        if pre.get("resourceVersion") and pre["resourceVersion"] != meta["resourceVersion"]:
            raise conflict(
                rt.plural,
                rt.group,
                name,
                f"Precondition failed: ResourceVersion in precondition: {pre['resourceVersion']}, "
                f"ResourceVersion in object meta: {meta['resourceVersion']}",
            )
        if pre.get("uid") and pre["uid"] != meta["uid"]:
            raise conflict(
                rt.plural,
                rt.group,
                name,
                f"Precondition failed: UID in precondition: {pre['uid']}, "
                f"UID in object meta: {meta['uid']}",
            )
        if meta.get("finalizers"):
            if meta.get("deletionTimestamp"):
                return live
            marked = copy.deepcopy(live)
            marked["metadata"].update(deletionTimestamp=now_text(), deletionGracePeriodSeconds=0)
            return _as_version(rt, marked if dry_run else self.store.put(rt.key, marked))
        if dry_run:
            return success_body(name=name, group=rt.group, kind=rt.plural, uid=meta["uid"])
        self.store.remove(rt.key, namespace if rt.namespaced else "", name)
        self._after_delete(rt, live)
        return success_body(name=name, group=rt.group, kind=rt.plural, uid=meta["uid"])

    def delete_collection(
        self, rt: ResourceType, namespace: str | None, label_selector: str | None
    ) -> dict[str, Any]:
        listed = self.list(rt, namespace, label_selector=label_selector)
        for obj in listed["items"]:
            meta = obj["metadata"]
            self.delete(rt, meta.get("namespace", ""), meta["name"], {})
        return listed

    def _before_store(self, rt: ResourceType, obj: dict[str, Any]) -> None:
        if rt is CRDS:
            check_crd(obj)
            obj["status"] = crd_status(obj)
        elif rt is NAMESPACES:
            obj.setdefault("spec", {"finalizers": ["kubernetes"]})
            obj["status"] = {"phase": "Active"}

    def _after_store(self, rt: ResourceType, obj: dict[str, Any], opts: WriteOptions) -> None:
        if opts.dry_run:
            return
        if rt is CRDS and obj["metadata"].get("deletionTimestamp") is None:
            self.registry.sync_crd(obj)

    def _after_delete(self, rt: ResourceType, obj: dict[str, Any]) -> None:
        """Deleting a CRD deletes its objects; deleting a namespace deletes what is in it."""
        if rt is CRDS:
            for dropped in self.registry.drop_crd(obj["metadata"]["name"])[:1]:
                for item in self.store.list_objects(dropped.key, None):
                    meta = item["metadata"]
                    self.store.remove(dropped.key, meta.get("namespace", ""), meta["name"])
        elif rt is NAMESPACES:
            for other in self.registry.all():
                if not other.namespaced:
                    continue
                for item in self.store.list_objects(other.key, obj["metadata"]["name"]):
                    self.store.remove(
                        other.key, item["metadata"]["namespace"], item["metadata"]["name"]
                    )


def _as_version(rt: ResourceType, obj: dict[str, Any]) -> dict[str, Any]:
    obj["apiVersion"], obj["kind"] = rt.api_version, rt.kind
    return obj
