"""The pipeline scenarios: latency at steady rates, throughput of bursts, coalescing."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from bench import load
from bench.benchconfig import BenchConfig
from bench.cost import metered
from bench.observe import Arrivals
from bench.session import Session
from bench.stats import summary_ms


def _latencies(
    written: list[load.Written], times: dict[int, load.OutboxTimes], arrivals: Arrivals
) -> list[float]:
    """Commit → the target holds that version or a newer one, per written change."""
    out = []
    for w in written:
        committed = times.get(w.seq)
        arrived = arrivals.first_at_least(w.key, w.seq)
        if committed is not None and arrived is not None:
            out.append(arrived - committed.committed)
    return out


def _outbox(current: Session, written: list[load.Written]) -> dict[int, load.OutboxTimes]:
    seqs = [w.seq for w in written]
    return load.outbox_times(current.stack.engine, min(seqs), max(seqs)) if seqs else {}


async def _preload(
    current: Session, prefix: str, count: int, config: BenchConfig
) -> dict[str, Any]:
    started = time.monotonic()
    written = await current.write(prefix, count, count, existing=False)
    converged = await current.targets.converge(
        load.finals(written), timeout_s=config.converge_timeout_s
    )
    return {"keys": count, "converged": converged, "seconds": round(time.monotonic() - started, 2)}


async def latency(current: Session, config: BenchConfig) -> dict[str, Any]:
    """Pre-created keys, then paced API writes per rate; latency per target."""
    names = load.keys("lat", config.latency_keys)
    result: dict[str, Any] = {"preload": await _preload(current, "lat", len(names), config)}
    rates: dict[str, Any] = {}
    for index, rate in enumerate(config.rates):
        async with metered(current.pids()) as meter:
            written, failed = await load.paced_writes(
                current.stack.api_url,
                names,
                rate=rate,
                duration_s=config.latency_duration_s,
                seed=config.seed + index,
                token=current.stack.api_token,
            )
            converged = await current.targets.converge(
                load.finals(written), timeout_s=config.converge_timeout_s
            )
        times = _outbox(current, written)
        per_target = {
            name: _latencies(written, times, arrivals)
            for name, arrivals in current.targets.by_name().items()
        }
        rates[f"{rate:g}"] = {
            "rate_per_s": rate,
            "writes": len(written),
            "failed_writes": failed,
            "converged": converged,
            "latency": {name: summary_ms(values) for name, values in per_target.items()},
            "samples_ms": {
                name: [round(v * 1000, 1) for v in values] for name, values in per_target.items()
            },
            "seqs": [min(w.seq for w in written), max(w.seq for w in written)] if written else [],
            "cost": meter.result(),
        }
    result["rates"] = rates
    return result


def _convergence(
    written: list[load.Written], times: dict[int, load.OutboxTimes], arrivals: Arrivals
) -> float | None:
    """Seconds from the first commit until the target held every key's final version."""
    finals = load.finals(written)
    landed = [arrivals.first_at_least(key, seq) for key, seq in finals.items()]
    if not times or any(t is None for t in landed):
        return None
    first = min(t.committed for t in times.values())
    return max(t for t in landed if t is not None) - first


async def burst(current: Session, config: BenchConfig, key_count: int) -> dict[str, Any]:
    """``burst_changes`` changes over ``key_count`` fresh keys, written as fast as the
    database takes them; time until every target converged."""
    changes = config.burst_changes
    async with metered(current.pids()) as meter:
        started = time.monotonic()
        written = await current.write(f"b{key_count}", key_count, changes, existing=False)
        write_s = time.monotonic() - started
        converged = await current.targets.converge(
            load.finals(written), timeout_s=config.converge_timeout_s
        )
    times = _outbox(current, written)
    targets: dict[str, Any] = {}
    for name, arrivals in current.targets.by_name().items():
        seconds = _convergence(written, times, arrivals)
        targets[name] = {
            "convergence_s": round(seconds, 2) if seconds else None,
            "changes_per_s": round(changes / seconds, 1) if seconds else None,
        }
    slowest = [t["convergence_s"] for t in targets.values()]
    total = max(slowest) if all(slowest) else None
    return {
        "changes": changes,
        "keys": key_count,
        "write_s": round(write_s, 2),
        "writes_per_s": round(changes / write_s, 1) if write_s else None,
        "converged": converged,
        "convergence_s": total,
        "changes_per_s": round(changes / total, 1) if total else None,
        "targets": targets,
        "cost": meter.result(),
    }


def _applies(current: Session, keys: list[str]) -> dict[str, int]:
    kube = current.targets.kube
    counts = {
        "kubernetes_versions": sum(len(kube.arrivals.versions.get(k, [])) for k in keys),
        "kubernetes_modified_events": sum(kube.modified[k] for k in keys),
    }
    git = current.targets.git
    if git is not None:
        counts["git_commits"] = sum(git.commits[k] for k in keys)
    return counts


async def coalescing(current: Session, config: BenchConfig) -> dict[str, Any]:
    """Updates in a burst on a few pre-created keys: how many reached the targets."""
    count = config.coalesce_keys
    preload = await _preload(current, "co", count, config)
    keys = [f"{load.NAMESPACE}/{name}" for name in load.keys("co", count)]
    before = _applies(current, keys)
    async with metered(current.pids()) as meter:
        written = await current.write("co", count, config.coalesce_updates, existing=True)
        converged = await current.targets.converge(
            load.finals(written), timeout_s=config.converge_timeout_s
        )
        await asyncio.sleep(1.0)  # let trailing status writes show up in the watch
        if current.targets.git is not None:
            await asyncio.to_thread(current.targets.git.poll)
    after = _applies(current, keys)
    applied = {name: after[name] - before.get(name, 0) for name in after}
    return {
        "updates": config.coalesce_updates,
        "keys": count,
        "preload": preload,
        "converged": converged,
        "applied": applied,
        "applied_per_update": {
            k: round(v / config.coalesce_updates, 3) for k, v in applied.items()
        },
        "cost": meter.result(),
    }
