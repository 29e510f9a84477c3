"""``python -m bench``: run the benchmark scenarios against the real stack; write the results.

Writes ``<out>/<timestamp>.json`` and ``<out>/<timestamp>.png``, and appends a section to
docs/benchmarks.md (unless ``--no-docs``). ``--smoke`` runs everything at tiny sizes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shlex
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import machine, plot, report, runs
from bench.benchconfig import BenchConfig, parse_config

logger = logging.getLogger("bench")

Run = Callable[[BenchConfig, Path], Awaitable[dict[str, Any]]]


def _plan(config: BenchConfig) -> list[tuple[str, Run]]:
    chosen = set(config.scenarios)
    plan: list[tuple[str, Run]] = []
    if chosen & {"latency", "throughput", "coalescing"}:
        plan.append(("both_targets", runs.both_targets))
    if "throughput" in chosen and not config.smoke:
        # The Kubernetes-only bursts run the same code as the two-target ones; a smoke run
        # saves a stack start-up by leaving them out.
        plan.append(("kube_only", runs.kube_only))
    if "direct" in chosen:
        plan.append(("direct", runs.direct))
    if "temporal" in chosen:
        plan.append(("bare_temporal", runs.bare_temporal))
    return plan


async def run(config: BenchConfig) -> dict[str, Any]:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    result: dict[str, Any] = {
        "meta": {
            "timestamp": stamp,
            "command": shlex.join(["python", "-m", "bench", *config.argv]),
            "temporal_db": config.temporal_db,
            "database": config.database,
            "config": {k: str(v) for k, v in asdict(config).items()},
            "machine": machine.facts(),
        }
    }
    with tempfile.TemporaryDirectory(prefix="rendersync-bench-") as tmp:
        for name, step in _plan(config):
            started = time.monotonic()
            logger.info("running %s", name)
            result[name] = await step(config, Path(tmp))
            result[name]["wall_s"] = round(time.monotonic() - started, 1)
    result["ratios"] = report.ratios(result)
    return result


def write_outputs(config: BenchConfig, result: dict[str, Any]) -> dict[str, str]:
    out = config.out_dir
    out.mkdir(parents=True, exist_ok=True)
    stamp = result["meta"]["timestamp"]
    files = {"json": str(out / f"{stamp}.json")}
    if config.plot:
        png = plot.latency_png(result, out / f"{stamp}.png")
        if png is not None:
            files["png"] = str(png)
    result["meta"]["files"] = files
    Path(files["json"]).write_text(json.dumps(result, indent=1, sort_keys=True))
    if config.docs is not None:
        with config.docs.open("a", encoding="utf-8") as fh:
            fh.write(report.markdown(result))
        files["docs"] = str(config.docs)
    return files


def main(argv: list[str]) -> int:
    config = parse_config(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for noisy in ("aiokafka", "httpx", "rendersync.devstack.services", "temporalio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    result = asyncio.run(run(config))
    files = write_outputs(config, result)
    sys.stdout.write(json.dumps({"files": files, "ratios": result["ratios"]}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
