"""``kubectl kustomize`` of a GitOps overlay: which AppConfigs it builds."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml


def kustomize(workdir: Path, folder: str) -> list[str]:
    """``kubectl kustomize`` of ``folder`` in the clone ``workdir``: the keys
    (``namespace/name``) of the resources it builds, sorted; fails the test if it does not
    build."""
    built = subprocess.run(
        ["kubectl", "kustomize", str(workdir / folder)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert built.returncode == 0, built.stderr
    documents = [d for d in yaml.safe_load_all(built.stdout) if d]
    return sorted(f"{d['metadata']['namespace']}/{d['metadata']['name']}" for d in documents)
