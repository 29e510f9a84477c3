"""``python -m bench``: run the benchmark scenarios against the real stack; write the results.

Writes ``<out>/<timestamp>.json`` (rewritten after every scenario, so an interrupted run keeps
what it measured; ``meta.complete`` says whether it ran to the end), the latency distributions
``<out>/<timestamp>.png`` and the throughput-vs-keys curves ``<out>/<timestamp>-throughput.png``,
and appends a section to docs/benchmarks.md (``--docs``; not with ``--no-docs``) that shows
both pictures, copied to ``images/bench-<timestamp>-*.png`` beside it. A stage that fails
is recorded in its part (``error``) and the exit status is 1; the other stages still run.
``--smoke`` runs everything at tiny sizes.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import shlex
import shutil
import signal
import sys
import tempfile
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import machine, plot, report, runs
from bench.benchconfig import BenchConfig, parse_config
from bench.stages import Save, Stage, run_stages

logger = logging.getLogger("bench")

Run = Callable[[BenchConfig, Path, dict[str, Any], Save], Awaitable[None]]


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


def _json_path(config: BenchConfig, result: dict[str, Any]) -> Path:
    return config.out_dir / f"{result['meta']['timestamp']}.json"


def save_partial(config: BenchConfig, result: dict[str, Any]) -> None:
    """Rewrite the result file with what has been measured so far (``meta.complete`` false)."""
    result["ratios"] = report.ratios(result)
    path = _json_path(config, result)
    path.parent.mkdir(parents=True, exist_ok=True)
    scratch = path.with_suffix(".json.tmp")
    scratch.write_text(json.dumps(result, indent=1, sort_keys=True))
    scratch.replace(path)


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
            "complete": False,
        }
    }
    with tempfile.TemporaryDirectory(prefix="rendersync-bench-") as tmp:
        stages: list[tuple[str, Stage]] = [
            (name, functools.partial(step, config, Path(tmp))) for name, step in _plan(config)
        ]
        failed = await run_stages(stages, result, lambda: save_partial(config, result))
    result["meta"]["complete"] = True
    result["meta"]["failed_stages"] = failed
    result["ratios"] = report.ratios(result)
    return result


#: The pictures of a run: (files key, how it is drawn, file name suffix, what it shows).
_PICTURES = (
    ("png", plot.latency_png, "", "latency distributions"),
    ("throughput_png", plot.throughput_png, "-throughput", "throughput by key count"),
)


def write_outputs(config: BenchConfig, result: dict[str, Any]) -> dict[str, str]:
    out = config.out_dir
    out.mkdir(parents=True, exist_ok=True)
    stamp = result["meta"]["timestamp"]
    files = {"json": str(_json_path(config, result))}
    drawn: list[tuple[str, Path]] = []
    for key, draw, suffix, what in _PICTURES if config.plot else ():
        png = draw(result, out / f"{stamp}{suffix}.png")
        if png is not None:
            files[key] = str(png)
            drawn.append((what, png))
    result["meta"]["files"] = files
    Path(files["json"]).write_text(json.dumps(result, indent=1, sort_keys=True))
    if config.docs is not None:
        images = _docs_images(config.docs, stamp, drawn)
        with config.docs.open("a", encoding="utf-8") as fh:
            fh.write(report.markdown(result, images=images))
        files["docs"] = str(config.docs)
    return files


def _docs_images(docs: Path, stamp: str, drawn: list[tuple[str, Path]]) -> list[tuple[str, str]]:
    """Copy the run's pictures beside ``docs`` (``images/bench-<stamp>-*.png``); (what each
    shows, its path relative to ``docs``)."""
    folder = docs.parent / "images"
    folder.mkdir(parents=True, exist_ok=True)
    shown = []
    for what, png in drawn:
        name = f"bench-{stamp}-{what.split()[0]}.png"
        shutil.copyfile(png, folder / name)
        shown.append((what, f"images/{name}"))
    return shown


def main(argv: list[str]) -> int:
    config = parse_config(argv)
    # Stopped by SIGTERM (a timeout, a CI job): unwind as on Ctrl-C, so every stack started
    # so far is stopped by its cleanup instead of left running.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for noisy in ("aiokafka", "httpx", "rendersync.devstack.services", "temporalio"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    result = asyncio.run(run(config))
    files = write_outputs(config, result)
    errors = {name: result[name]["error"] for name in result["meta"]["failed_stages"]}
    summary = {"files": files, "ratios": result["ratios"], "errors": errors}
    sys.stdout.write(json.dumps(summary, indent=1) + "\n")
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
