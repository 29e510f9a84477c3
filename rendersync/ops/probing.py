"""Where each target is and whether it answers: one cheap read per target, all at once.

Kubernetes: the target's kubeconfig context (its own, else the kubeconfig's current one, or
``in-cluster``, or the default kubeconfig) and API server URL; the probe lists at most one
AppConfig (it needs the server, the CRD and the right to list). Git: the remote (credentials
redacted), branch and path template; the probe is ``git ls-remote`` of the branch. Every
probe is bounded by ``timeout_s``; one that fails or times out makes its target
``unreachable`` with a one-line reason and never holds up the others.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from gitops.command import redact, run_git
from k8s.client import make_api_client
from k8s.watching import probe_appconfigs
from rendersync.settings import GitTargetSettings, KubernetesTargetSettings

#: How long one target's probe may take before the target counts as unreachable.
PROBE_TIMEOUT_S = 5.0
#: Set in a pod: a Kubernetes target without a kubeconfig file uses in-cluster config.
IN_CLUSTER_VARIABLE = "KUBERNETES_SERVICE_HOST"
HEALTH_OK = "ok"
HEALTH_UNREACHABLE = "unreachable"


@dataclass(frozen=True)
class Probe:
    """Where a target is (``where``), its ``health`` and, when there is one, why (``reason``:
    an unreachable target's error, or a note on a reachable one)."""

    where: str
    health: str
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.health == HEALTH_OK


def one_line(err: BaseException) -> str:
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return lines[0] if lines else type(err).__name__


def where_git(target: GitTargetSettings) -> str:
    return f"{redact(target.remote)} {target.branch} {target.path}"


def context_of(target: KubernetesTargetSettings) -> str:
    """The kubeconfig context the target uses, by name, as far as the file says."""
    if target.context:
        return target.context
    if target.kubeconfig is None or not target.kubeconfig.is_file():
        return "in-cluster" if os.environ.get(IN_CLUSTER_VARIABLE) else "(default kubeconfig)"
    try:
        loaded = yaml.safe_load(target.kubeconfig.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):
        return "(unreadable kubeconfig)"
    current = loaded.get("current-context") if isinstance(loaded, dict) else None
    return str(current or "(no current context)")


async def probe_kubernetes(target: KubernetesTargetSettings, *, timeout_s: float) -> Probe:
    context = await asyncio.to_thread(context_of, target)
    try:
        api = await make_api_client(kubeconfig=target.kubeconfig, context=target.context)
    except Exception as err:
        return Probe(f"{target.kubeconfig} {context}", HEALTH_UNREACHABLE, one_line(err))
    where = f"{context} {api.configuration.host}"
    try:
        await asyncio.wait_for(probe_appconfigs(api, timeout_s=timeout_s), timeout_s)
    except Exception as err:
        timed_out = isinstance(err, TimeoutError) or isinstance(err.__cause__, TimeoutError)
        reason = f"no answer within {timeout_s:g}s" if timed_out else one_line(err)
        return Probe(where, HEALTH_UNREACHABLE, reason)
    finally:
        await api.close()
    return Probe(where, HEALTH_OK)


def _absolute(remote: str) -> str:
    """A local remote given relative to the working directory, made absolute (git runs in a
    folder of its own)."""
    local = Path(remote)
    return str(local.resolve()) if "://" not in remote and local.exists() else remote


async def probe_git(target: GitTargetSettings, *, timeout_s: float) -> Probe:
    where = where_git(target)
    try:
        listed = await run_git(
            *("ls-remote", "--heads", _absolute(target.remote), f"refs/heads/{target.branch}"),
            cwd=Path(tempfile.gettempdir()),
            limit_seconds=timeout_s,
        )
    except Exception as err:
        return Probe(where, HEALTH_UNREACHABLE, one_line(err))
    if not listed.stdout.strip():
        return Probe(where, HEALTH_OK, f"branch {target.branch!r} does not exist yet")
    return Probe(where, HEALTH_OK)


async def probe(target: KubernetesTargetSettings | GitTargetSettings, *, timeout_s: float) -> Probe:
    if isinstance(target, KubernetesTargetSettings):
        return await probe_kubernetes(target, timeout_s=timeout_s)
    return await probe_git(target, timeout_s=timeout_s)


async def probe_all(
    targets: Mapping[str, KubernetesTargetSettings | GitTargetSettings],
    *,
    timeout_s: float = PROBE_TIMEOUT_S,
) -> dict[str, Probe]:
    """Every target's probe, run concurrently, by target name (in the order of ``targets``)."""
    probes = await asyncio.gather(*(probe(t, timeout_s=timeout_s) for t in targets.values()))
    return dict(zip(targets, probes, strict=True))
