"""The dev stack's environments: two clusters, one GitOps repository with an overlay each.

Promotion goes dev → staging → prod. The ``dev`` cluster serves dev and staging, the ``prod``
cluster prod; the repository holds ``clusters/<environment>/``, each a Kustomize overlay whose
``kustomization.yaml`` lists its AppConfigs (the layout Flux or Argo CD watch one folder of per
cluster). Each overlay is a Git target of its own, so an AppConfig promoted to another
environment leaves the overlay it was in: the move is compensated like any routing change.

Pure data: the targets and routing rules as the ``RENDERSYNC_TARGETS``/``RENDERSYNC_ROUTES``
settings take them, and the files of the repository's first commit.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from gitops.layout import KUSTOMIZATION_FILE, KUSTOMIZATION_HEADER

#: The emulated clusters, by kubeconfig context name; the first is the current context.
CLUSTERS = ("dev", "prod")
#: Each environment, in promotion order, and the cluster that runs it.
ENVIRONMENT_CLUSTERS = {"dev": "dev", "staging": "dev", "prod": "prod"}


def overlay(environment: str) -> str:
    """The repository folder of ``environment``'s overlay."""
    return f"clusters/{environment}"


def overlay_target(environment: str) -> str:
    """The name of the Git target that writes ``environment``'s overlay."""
    return f"gitops-{environment}"


def dev_targets(*, kubeconfig: Path, remote: Path, workdir: Path) -> dict[str, dict[str, str]]:
    """Every target, in apply order: the clusters, then the overlays.

    The overlays share one remote and branch, so they share one writer, one clone
    (``workdir``) and batched commits.
    """
    clusters = {
        name: {"kind": "kubernetes", "kubeconfig": str(kubeconfig), "context": name}
        for name in CLUSTERS
    }
    overlays = {
        overlay_target(env): {
            "kind": "git",
            "remote": str(remote),
            "workdir": str(workdir),
            "path": f"{overlay(env)}/appconfigs/{{namespace}}/{{name}}.yaml",
            "kustomization": overlay(env),
        }
        for env in ENVIRONMENT_CLUSTERS
    }
    return {**clusters, **overlays}


def dev_routes() -> list[dict[str, Any]]:
    """One rule per environment: its cluster and its overlay."""
    return [
        {"environment": env, "targets": [cluster, overlay_target(env)]}
        for env, cluster in ENVIRONMENT_CLUSTERS.items()
    ]


def first_commit_files() -> dict[str, str]:
    """The repository's first files: an empty overlay per environment, so each builds
    (``kubectl kustomize``) before anything is synced to it."""
    empty = yaml.safe_dump({**KUSTOMIZATION_HEADER, "resources": []}, sort_keys=False)
    return {f"{overlay(env)}/{KUSTOMIZATION_FILE}": empty for env in ENVIRONMENT_CLUSTERS}
