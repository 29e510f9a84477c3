"""``python -m bench.processweight``: what each rendersync process loads before it runs.

For each process kind, a fresh interpreter loads it two ways (nothing connects anywhere),
then reports the number of loaded modules, the import time, the peak RSS and which heavy
packages came along:

- ``alone``: ``rendersync.processes`` and the modules that kind's ``run_*`` assembles it from;
- ``command``: as ``rendersync dev`` starts it, ``python -m rendersync.cli KIND``: the
  command's parsers, ``KIND`` parsed, the Settings read and the subcommand's function
  imported (what ``rendersync.cli.main`` does before it calls it), then the same modules.

The ``cli`` row is the command's parsers alone (``rendersync --help``). With ``--live S``,
the relay and the bridge also run for real, started as ``rendersync dev`` starts them
(``rendersync_argv``), with nothing listening where their first dependency should be (Kafka
for the relay, Temporal for the bridge): their RSS is read after S seconds of retrying.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import psutil

from rendersync.devstack.description import Endpoints, StackDescription, rendersync_argv

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

#: The command's parsers alone (what ``rendersync --help`` builds).
_PARSERS = """
from rendersync import cli
cli.build_parser()
"""

#: What ``rendersync.cli.main`` does before it calls the subcommand's function.
_COMMAND = """
from rendersync import cli
from rendersync.settings import Settings
args = cli.build_parser().parse_args({argv!r})
Settings()
args.run.resolve()
"""

_CHILD = """
import json, resource, sys, time
start, start_cpu = time.perf_counter(), time.process_time()
{prelude}
for name in {modules!r}:
    __import__(name)
elapsed, cpu = time.perf_counter() - start, time.process_time() - start_cpu
loaded = {{m.split(".")[0] for m in sys.modules}}
print(json.dumps({{
    "modules": len(sys.modules),
    "import_ms": elapsed * 1000,
    "import_cpu_ms": cpu * 1000,
    "rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "heavy": sorted(loaded & set({heavy!r})),
}}))
"""


def measure(modules: tuple[str, ...], *, prelude: str = "") -> dict[str, Any]:
    """One fresh interpreter running ``prelude``, then importing ``modules``; its figures."""
    code = _CHILD.format(prelude=prelude, modules=modules, heavy=HEAVY)
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    result: dict[str, Any] = json.loads(out)
    return result


def loads() -> dict[str, tuple[str, tuple[str, ...]]]:
    """What each row loads, by its name: a prelude and modules to import after it."""
    rows: dict[str, tuple[str, tuple[str, ...]]] = {"cli": (_PARSERS, ())}
    for kind, modules in PROCESS_MODULES.items():
        rows[f"{kind} alone"] = ("", ("rendersync.processes", *modules))
        rows[f"{kind} command"] = (_COMMAND.format(argv=[kind]), modules)
    return rows


def weigh(repeat: int) -> dict[str, dict[str, Any]]:
    """Per row: modules and heavy packages of the last run, median import ms (wall and CPU:
    on a shared machine the CPU time is the steadier) and RSS."""
    table: dict[str, dict[str, Any]] = {}
    for name, (prelude, modules) in loads().items():
        runs = [measure(modules, prelude=prelude) for _ in range(repeat)]
        table[name] = runs[-1] | {
            "import_ms": statistics.median(r["import_ms"] for r in runs),
            "import_cpu_ms": statistics.median(r["import_cpu_ms"] for r in runs),
            "rss_mib": statistics.median(r["rss_mib"] for r in runs),
        }
    return table


#: The processes run live: each waits for a dependency that refuses at once (port 1).
LIVE_KINDS = ("relay", "bridge")
_REFUSED = "127.0.0.1:1"


def live_rss(kind: str, *, seconds: float) -> float:
    """The RSS (MiB) of ``rendersync KIND`` ``seconds`` after it started, still retrying."""
    with tempfile.TemporaryDirectory() as home:
        place = Path(home)
        stack = StackDescription(
            Endpoints(
                db_url=f"sqlite:///{place / 'rendersync.db'}",
                kafka=_REFUSED,
                kubeconfig=place / "kubeconfig",
                git_remote=place / "remote.git",
                git_workdir=place / "work",
                temporal=_REFUSED,
            ),
            processes=(kind,),
            settings={"METRICS__RELAY_PORT": "0", "METRICS__BRIDGE_PORT": "0"},
        )
        child = subprocess.Popen(
            rendersync_argv(kind),
            cwd=place,
            env=stack.child_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            time.sleep(seconds)
            if child.poll() is not None:
                raise RuntimeError(f"rendersync {kind} exited with status {child.returncode}")
            return float(psutil.Process(child.pid).memory_info().rss) / 2**20
        finally:
            child.terminate()
            child.wait(timeout=30)


def _cell(value: float | None) -> str:
    """A figure of the table; ``-`` where the row does not measure it (a live process)."""
    return "-" if value is None else f"{value:.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.processweight", description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="runs per kind (median)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    parser.add_argument(
        "--live", type=float, metavar="S", help="also run the relay and the bridge for S seconds"
    )
    args = parser.parse_args(argv)
    table = weigh(args.repeat)
    for kind in LIVE_KINDS if args.live else ():
        rss = statistics.median(live_rss(kind, seconds=args.live) for _ in range(args.repeat))
        table[f"{kind} live"] = {
            "modules": None,
            "import_ms": None,
            "import_cpu_ms": None,
            "rss_mib": rss,
            "heavy": None,
        }
    if args.json:
        print(json.dumps(table, indent=2))
        return 0
    print("| process | modules | import ms | import CPU ms | RSS MiB | heavy packages loaded |")
    print("| --- | --- | --- | --- | --- | --- |")
    for kind, row in table.items():
        cells = [_cell(row[name]) for name in ("modules", "import_ms", "import_cpu_ms", "rss_mib")]
        heavy = "-" if row["heavy"] is None else ", ".join(row["heavy"]) or "none"
        print(f"| {kind} | {' | '.join(cells)} | {heavy} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
