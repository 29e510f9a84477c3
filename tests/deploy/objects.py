"""Picking objects and pod templates out of a built overlay."""

from __future__ import annotations

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
