"""The resource types the emulator serves: a few built-ins plus one per served CRD version."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

CRD_GROUP = "apiextensions.k8s.io"
VERBS = ("create", "delete", "deletecollection", "get", "list", "patch", "update", "watch")


@dataclass(frozen=True)
class ResourceType:
    group: str
    version: str
    plural: str
    singular: str
    kind: str
    namespaced: bool
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    schema: dict[str, Any] | None = None
    status_subresource: bool = False
    printer_columns: tuple[dict[str, Any], ...] = ()
    #: Custom resources refuse strategic merge patch and unconditional PUT.
    custom: bool = False
    read_only: bool = False
    verbs: tuple[str, ...] = field(default=VERBS)

    @property
    def key(self) -> str:
        """Storage key shared by every version of a resource (no conversion is done)."""
        return f"{self.group}/{self.plural}"

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"


NAMESPACES = ResourceType("", "v1", "namespaces", "namespace", "Namespace", False, ("ns",))
#: Served (always empty) because ``kubectl describe`` lists events of the object it shows.
EVENTS = ResourceType("", "v1", "events", "event", "Event", True, ("ev",), read_only=True)
CRDS = ResourceType(
    CRD_GROUP,
    "v1",
    "customresourcedefinitions",
    "customresourcedefinition",
    "CustomResourceDefinition",
    False,
    ("crd", "crds"),
    status_subresource=True,
)
BUILTINS = (NAMESPACES, EVENTS, CRDS)


def types_from_crd(crd: dict[str, Any]) -> list[ResourceType]:
    """One ResourceType per served version of a CustomResourceDefinition."""
    spec = crd.get("spec") or {}
    names = spec.get("names") or {}
    found = []
    for ver in spec.get("versions") or []:
        if not ver.get("served", True):
            continue
        found.append(
            ResourceType(
                group=spec["group"],
                version=ver["name"],
                plural=names["plural"],
                singular=names.get("singular") or names["kind"].lower(),
                kind=names["kind"],
                namespaced=spec.get("scope", "Namespaced") == "Namespaced",
                short_names=tuple(names.get("shortNames") or ()),
                categories=tuple(names.get("categories") or ()),
                schema=(ver.get("schema") or {}).get("openAPIV3Schema"),
                status_subresource="status" in (ver.get("subresources") or {}),
                printer_columns=tuple(ver.get("additionalPrinterColumns") or ()),
                custom=True,
            )
        )
    return found


class Registry:
    """Which (group, version, plural) are served; CRD writes call :meth:`sync_crd`."""

    def __init__(self) -> None:
        self._types: dict[tuple[str, str, str], ResourceType] = {}
        self._by_crd: dict[str, list[ResourceType]] = {}
        for rt in BUILTINS:
            self._types[(rt.group, rt.version, rt.plural)] = rt

    def find(self, group: str, version: str, plural: str) -> ResourceType | None:
        return self._types.get((group, version, plural))

    def all(self) -> list[ResourceType]:
        return list(self._types.values())

    def groups(self) -> dict[str, list[str]]:
        """Group name to served versions, in registration order."""
        out: dict[str, list[str]] = {}
        for rt in self._types.values():
            versions = out.setdefault(rt.group, [])
            if rt.version not in versions:
                versions.append(rt.version)
        return out

    def sync_crd(self, crd: dict[str, Any]) -> None:
        self.drop_crd(crd["metadata"]["name"])
        fresh = types_from_crd(crd)
        self._by_crd[crd["metadata"]["name"]] = fresh
        for rt in fresh:
            self._types[(rt.group, rt.version, rt.plural)] = rt

    def drop_crd(self, crd_name: str) -> list[ResourceType]:
        dropped = self._by_crd.pop(crd_name, [])
        for rt in dropped:
            self._types.pop((rt.group, rt.version, rt.plural), None)
        return dropped
