"""Every pod meets the restricted Pod Security Standard with a read-only root filesystem,
probes reach what each process serves, the worker's pods outlive its shutdown grace, and the
NetworkPolicies deny by default and open exactly each process's traffic."""

from __future__ import annotations

import pytest

from tests.deploy.conftest import OVERLAYS
from tests.deploy.objects import (
    PROCESSES,
    Obj,
    auth_modes,
    config,
    container,
    named,
    of_kind,
    pod_specs,
)

Built = dict[str, list[Obj]]
#: Volume types the restricted standard allows.
RESTRICTED_VOLUMES = {"configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "projected"}
RESTRICTED_VOLUMES |= {"persistentVolumeClaim", "secret"}
#: Egress ports each process needs besides DNS (PostgreSQL, Kafka, Temporal, Kubernetes, Git),
#: the API's with its auth modes on (`api_egress`).
EGRESS = {
    "api": {5432},
    "migrate": {5432},
    "relay": {5432, 9092},
    "bridge": {9092, 7233},
    "worker": {5432, 7233, 443, 6443, 22},
}


def api_egress(objects: list[Obj]) -> set[int]:
    """PostgreSQL; the Kubernetes API for TokenReview or SubjectAccessReview; HTTPS for the
    OIDC issuer's key set."""
    authenticators, sar = auth_modes(objects)
    ports = set(EGRESS["api"])
    if "tokenreview" in authenticators or sar:
        ports |= {443, 6443}
    if "oidc" in authenticators:
        ports |= {443}
    return ports


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_pod_meets_the_restricted_standard(built: Built, overlay: str) -> None:
    (namespace,) = of_kind(built[overlay], "Namespace")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    specs = pod_specs(built[overlay])
    assert len(specs) == 5, sorted(specs)
    for name, spec in specs.items():
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True, name
        assert pod.get("runAsUser", 1) != 0, name
        assert pod["seccompProfile"]["type"] == "RuntimeDefault", name
        for key in ("hostNetwork", "hostPID", "hostIPC"):
            assert not spec.get(key), (name, key)
        for volume in spec.get("volumes", []):
            assert set(volume) - {"name"} <= RESTRICTED_VOLUMES, (name, volume)
        for c in spec["containers"] + spec.get("initContainers", []):
            sc = c["securityContext"]
            assert sc["allowPrivilegeEscalation"] is False, (name, c["name"])
            assert sc.get("privileged", False) is False, (name, c["name"])
            assert sc["capabilities"]["drop"] == ["ALL"], (name, c["name"])
            assert not sc["capabilities"].get("add"), (name, c["name"])
            assert sc["readOnlyRootFilesystem"] is True, (name, c["name"])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_writable_paths_are_empty_dirs(built: Built, overlay: str) -> None:
    objects = built[overlay]
    for name, spec in pod_specs(objects).items():
        empty = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
        for c in spec["containers"]:
            mounts = {m["mountPath"]: m["name"] for m in c["volumeMounts"]}
            assert mounts.get("/tmp") in empty, name
    workdir = config(objects)["RENDERSYNC_GIT__WORKDIR"]
    mounts = {m["mountPath"]: m["name"] for m in container(objects, "worker")["volumeMounts"]}
    holding = [p for p in mounts if workdir == p or workdir.startswith(p.rstrip("/") + "/")]
    assert holding, f"the Git workdir {workdir} is on the read-only root"
    spec = named(objects, "Deployment", "rendersync-worker")["spec"]["template"]["spec"]
    volumes = {v["name"]: v for v in spec["volumes"]}
    assert "emptyDir" in volumes[mounts[holding[0]]]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_probes_reach_what_each_process_serves(built: Built, overlay: str) -> None:
    objects = built[overlay]
    settings = config(objects)
    api = container(objects, "api")
    ports = {p["name"]: p["containerPort"] for p in api["ports"]}
    assert ports["http"] == int(settings["RENDERSYNC_API__PORT"])
    assert settings["RENDERSYNC_API__HOST"] == "0.0.0.0"
    assert api["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert api["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    # The relay, bridge and worker serve their metrics endpoint, and nothing else.
    assert settings["RENDERSYNC_METRICS__HOST"] == "0.0.0.0"
    for process in ("relay", "bridge", "worker"):
        c = container(objects, process)
        ports = {p["name"]: p["containerPort"] for p in c["ports"]}
        assert ports["metrics"] == int(settings[f"RENDERSYNC_METRICS__{process.upper()}_PORT"])
        for probe in ("livenessProbe", "readinessProbe"):
            assert c[probe]["httpGet"] == {"path": "/metrics", "port": "metrics"}, process


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_worker_outlives_its_shutdown_grace(built: Built, overlay: str) -> None:
    objects = built[overlay]
    grace = float(config(objects)["RENDERSYNC_SYNC__WORKER_GRACE_S"])
    spec = named(objects, "Deployment", "rendersync-worker")["spec"]["template"]["spec"]
    # Room for the grace, then closing the clients, before the kubelet's SIGKILL.
    assert spec["terminationGracePeriodSeconds"] >= grace + 10


def _served(settings: dict[str, str], component: str) -> set[int]:
    """The port others reach a component on: the API's, a metrics port, or none (the Job)."""
    if component == "migrate":
        return set()
    if component == "api":
        return {int(settings["RENDERSYNC_API__PORT"])}
    return {int(settings[f"RENDERSYNC_METRICS__{component.upper()}_PORT"])}


def _policies_selecting(objects: list[Obj], component: str) -> list[Obj]:
    found = []
    for policy in of_kind(objects, "NetworkPolicy"):
        labels = policy["spec"]["podSelector"].get("matchLabels", {})
        if not labels or labels == {"app.kubernetes.io/component": component}:
            found.append(policy)
    return found


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_deny_by_default_and_open_each_process_s_traffic(
    built: Built, overlay: str
) -> None:
    objects = built[overlay]
    deny = named(objects, "NetworkPolicy", "rendersync-default-deny")["spec"]
    assert deny == {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}
    settings = config(objects)
    for component, expected in {**EGRESS, "api": api_egress(objects)}.items():
        policies = _policies_selecting(objects, component)
        ports = {
            p["port"]
            for policy in policies
            for rule in policy["spec"].get("egress", [])
            for p in rule["ports"]
        }
        assert ports == expected | {53}, component
        ingress = {
            p["port"]
            for policy in policies
            for rule in policy["spec"].get("ingress", [])
            for p in rule["ports"]
        }
        assert ingress == _served(settings, component), component
    if overlay == "prod":
        for process in ("relay", "bridge"):
            egress = named(objects, "NetworkPolicy", f"rendersync-{process}")["spec"]["egress"]
            assert all(rule.get("to") for rule in egress), process


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_only_processes_that_call_the_kubernetes_api_mount_a_token(
    built: Built, overlay: str
) -> None:
    objects = built[overlay]
    authenticators, sar = auth_modes(objects)
    calling = {"Deployment/rendersync-worker"}
    if "tokenreview" in authenticators or sar:
        calling.add("Deployment/rendersync-api")
    for name, spec in pod_specs(objects).items():
        assert spec["automountServiceAccountToken"] is (name in calling), name
    for process in PROCESSES:
        spec = named(objects, "Deployment", f"rendersync-{process}")["spec"]
        assert spec["template"]["spec"]["serviceAccountName"] == f"rendersync-{process}"
