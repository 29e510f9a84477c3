"""Picking objects and pod templates out of a built overlay."""

from __future__ import annotations

import json
from typing import Any

Obj = dict[str, Any]
WORKLOADS = ("Deployment", "Job")
PROCESSES = ("api", "relay", "bridge", "worker")


def of_kind(objects: list[Obj], kind: str) -> list[Obj]:
    return [o for o in objects if o["kind"] == kind]


def named(objects: list[Obj], kind: str, name: str) -> Obj:
    (found,) = [o for o in of_kind(objects, kind) if o["metadata"]["name"] == name]
    return found


def pod_specs(objects: list[Obj]) -> dict[str, Obj]:
    """Each workload's pod spec, by ``Kind/name``."""
    return {
        f"{o['kind']}/{o['metadata']['name']}": o["spec"]["template"]["spec"]
        for o in objects
        if o["kind"] in WORKLOADS
    }


def config(objects: list[Obj]) -> dict[str, str]:
    """The settings ConfigMap (its name carries kustomize's hash suffix)."""
    (cm,) = [
        o
        for o in of_kind(objects, "ConfigMap")
        if o["metadata"]["name"].startswith("rendersync-config")
    ]
    data: dict[str, str] = cm["data"]
    return data


def container(objects: list[Obj], process: str) -> Obj:
    spec = named(objects, "Deployment", f"rendersync-{process}")["spec"]["template"]["spec"]
    found: Obj = next(c for c in spec["containers"] if c["name"] == process)
    return found


def roles_bound_to(objects: list[Obj], account: str) -> list[Obj]:
    """The Roles and ClusterRoles any binding gives ServiceAccount ``account``."""
    names = {
        (b["roleRef"]["kind"], b["roleRef"]["name"])
        for b in objects
        if b["kind"] in ("RoleBinding", "ClusterRoleBinding")
        for s in b.get("subjects", [])
        if s["kind"] == "ServiceAccount" and s["name"] == account
    }
    return [o for o in objects if (o["kind"], o["metadata"]["name"]) in names]


def mounted_file(objects: list[Obj], process: str, path: str) -> str:
    """What ``process``'s container reads at ``path``: a key of a ConfigMap volume, which
    must be mounted read-only."""
    spec = named(objects, "Deployment", f"rendersync-{process}")["spec"]["template"]["spec"]
    folder, _, key = path.rpartition("/")
    (mount,) = [m for m in container(objects, process)["volumeMounts"] if m["mountPath"] == folder]
    assert mount.get("readOnly") is True, f"{folder} is mounted writable"
    (volume,) = [v for v in spec["volumes"] if v["name"] == mount["name"]]
    data: str = named(objects, "ConfigMap", volume["configMap"]["name"])["data"][key]
    return data


def auth_modes(objects: list[Obj]) -> tuple[list[str], bool]:
    """The API's authenticators and whether it asks the cluster for access (SAR)."""
    settings = config(objects)
    authenticators: list[str] = json.loads(settings["RENDERSYNC_AUTH__AUTHENTICATORS"])
    return authenticators, settings["RENDERSYNC_AUTH__SAR"] == "true"
