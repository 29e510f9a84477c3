"""One stack per group of scenarios: what runs where, and in which order."""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

from bench import baseline_temporal, profile, scenarios
from bench.benchconfig import BenchConfig
from bench.benchstack import StackSpec
from bench.cost import metered
from bench.machine import patient
from bench.session import session
from bench.stages import Save
from rendersync.devstack.services.childprocesses import ManagedProcess
from rendersync.devstack.services.temporal import start_temporal_dev_server
from vocabulary import TARGET_GIT, TARGET_KUBERNETES

logger = logging.getLogger(__name__)

BOTH = (TARGET_KUBERNETES, TARGET_GIT)
KUBE = (TARGET_KUBERNETES,)
#: A stage's part of the result, filled as its scenarios finish.
Part = dict[str, Any]


async def both_targets(config: BenchConfig, run_dir: Path, out: Part, save: Save) -> None:
    """Kubernetes + Git: coalescing, latency (with its stage profile), bursts."""
    spec = StackSpec(
        targets=BOTH,
        temporal_db=config.temporal_db,
        database=config.database,
        workers=config.workers,
        settings=config.settings,
    )
    async with session(run_dir / "both", spec) as current:
        out["ready_s"] = current.ready_s
        if "coalescing" in config.scenarios:
            logger.info("coalescing")
            out["coalescing"] = await scenarios.coalescing(current, config)
            save()
        if "latency" in config.scenarios:
            logger.info("latency")
            out["latency"] = await scenarios.latency(current, config)
            save()
            out["profile"] = await profile.stages(current, out["latency"])
            save()
        if "throughput" in config.scenarios:
            await _bursts(current, config, out.setdefault("throughput", {}), save)


async def kube_only(config: BenchConfig, run_dir: Path, out: Part, save: Save) -> None:
    spec = StackSpec(
        targets=KUBE,
        temporal_db=config.temporal_db,
        database=config.database,
        workers=config.workers,
        settings=config.settings,
    )
    async with session(run_dir / "kube", spec) as current:
        out["ready_s"] = current.ready_s
        await _bursts(current, config, out.setdefault("throughput", {}), save)


async def direct(config: BenchConfig, run_dir: Path, out: Part, save: Save) -> None:
    """Baseline (a): relay + a plain consumer applying to the cluster, no Temporal."""
    spec = StackSpec(
        processes=("api", "relay", "direct"),
        targets=KUBE,
        temporal=False,
        database=config.database,
    )
    async with session(run_dir / "direct", spec) as current:
        out["ready_s"] = current.ready_s
        if "latency" in config.scenarios:
            out["latency"] = await scenarios.latency(current, config)
            save()
        await _bursts(current, config, out.setdefault("throughput", {}), save)


async def _bursts(current: Any, config: BenchConfig, results: Part, save: Save) -> None:
    for keys in config.burst_keys:
        logger.info("burst of %d changes over %d keys", config.burst_changes, keys)
        results[str(keys)] = await scenarios.burst(current, config, keys)
        save()


async def bare_temporal(config: BenchConfig, run_dir: Path, out: Part, save: Save) -> None:
    """Baseline (b): no-op workflows on a dev server of the same kind."""
    logs = run_dir / "temporal-baseline"
    db_file = logs / "temporal.db" if config.temporal_db == "sqlite" else None
    server = await start_temporal_dev_server(
        headless=True,
        db_filename=db_file,
        log_path=logs / "temporal.log",
        startup_timeout_s=patient(60.0),
    )
    argv = [sys.executable, "-m", baseline_temporal.__name__, server.address, "bench-noop"]
    worker = ManagedProcess(argv, name="noop-worker", log_path=logs / "worker.log").start()
    try:
        pids = {"temporal": server.pid, "worker": worker.pid, "bench": os.getpid()}
        await baseline_temporal.drive(
            server.address, "bench-noop", min(20, config.temporal_workflows)
        )
        async with metered(pids) as meter:
            result = await baseline_temporal.drive(
                server.address, "bench-noop", config.temporal_workflows
            )
        out.update(result, cost=meter.result())
    finally:
        await worker.astop(grace_s=5.0)
        await server.astop()
