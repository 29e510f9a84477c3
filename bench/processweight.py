"""``python -m bench.processweight``: what each rendersync process loads before it runs.

For each process kind, a fresh interpreter imports ``rendersync.processes`` and the modules
that kind's ``run_*`` assembles it from (nothing connects anywhere), then reports the number
of loaded modules, the import time, the peak RSS and which heavy packages came along. The
``cli`` row is ``import rendersync.cli`` alone (the parser of every subcommand).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from typing import Any

#: What each process's ``run_*`` imports on its way to running (see rendersync/processes.py).
PROCESS_MODULES: dict[str, tuple[str, ...]] = {
    "api": (
        "rendersync.logs",
        "rendersync.wiring",
        "rendersync.authwiring",
        "api.web.app",
        "uvicorn",
    ),
    "relay": ("rendersync.logs", "rendersync.wiring", "worker.relay"),
    "bridge": ("rendersync.logs", "rendersync.wiring", "worker.bridge", "worker.signalling"),
    "worker": (
        "rendersync.logs",
        "rendersync.wiring",
        "worker.temporalworker",
        "activities.kubernetes",
        "activities.git",
        "k8s.client",
        "worker.driftrepair",
        "worker.antientropy",
        "worker.orphans",
    ),
}

HEAVY = ("temporalio", "fastapi", "uvicorn", "kubernetes_asyncio", "aiokafka", "sqlalchemy")

_CHILD = """
import json, resource, sys, time
start = time.perf_counter()
for name in {modules!r}:
    __import__(name)
elapsed = time.perf_counter() - start
loaded = {{m.split(".")[0] for m in sys.modules}}
print(json.dumps({{
    "modules": len(sys.modules),
    "import_ms": elapsed * 1000,
    "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "heavy": sorted(loaded & set({heavy!r})),
}}))
"""


def measure(modules: tuple[str, ...]) -> dict[str, Any]:
    """One fresh interpreter importing ``modules``; its figures as a dict."""
    code = _CHILD.format(modules=modules, heavy=HEAVY)
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, Any] = json.loads(out)
    return result


def weigh(repeat: int) -> dict[str, dict[str, Any]]:
    """Per kind: modules and heavy packages of the last run, median import ms and RSS."""
    kinds = {"cli": ("rendersync.cli",)} | {
        kind: ("rendersync.processes", *modules) for kind, modules in PROCESS_MODULES.items()
    }
    table: dict[str, dict[str, Any]] = {}
    for kind, modules in kinds.items():
        runs = [measure(modules) for _ in range(repeat)]
        table[kind] = runs[-1] | {
            "import_ms": statistics.median(r["import_ms"] for r in runs),
            "rss_mib": statistics.median(r["rss_mib"] for r in runs),
        }
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.processweight", description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="runs per kind (median)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    table = weigh(args.repeat)
    if args.json:
        print(json.dumps(table, indent=2))
        return 0
    print("| process | modules | import ms | RSS MiB | heavy packages loaded |")
    print("| --- | --- | --- | --- | --- |")
    for kind, row in table.items():
        heavy = ", ".join(row["heavy"]) or "none"
        print(
            f"| {kind} | {row['modules']} | {row['import_ms']:.0f} | {row['rss_mib']:.0f} "
            f"| {heavy} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
